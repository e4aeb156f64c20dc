"""Reading zstd streams (layers that buildx `compression=zstd` or skopeo wrote, `docker import x.tar.zst`).

The `zstandard` module decompresses, but its streaming reader ends quietly when the input stops in the
middle of a frame: a truncated download or file would read as a shorter tar. So the compressed bytes also
go through FrameWalker, which follows the frame layout (RFC 8878: headers, block sizes, checksums,
skippable frames) without decompressing anything, and the end of input inside a frame is an error, as it
is for Go's zstd reader in dockerd ("unexpected EOF").
"""
from __future__ import annotations

import io
from typing import BinaryIO

import zstandard

_FRAME_MAGIC = b"\x28\xb5\x2f\xfd"
_SKIPPABLE_MAGIC_TAIL = b"\x2a\x4d\x18"  # 0x184D2A50..0x184D2A5F, little-endian
_FCS_SIZES = (0, 2, 4, 8)                  # Frame_Content_Size bytes per flag (flag 0: 1 if single segment)
_DICT_ID_SIZES = (0, 1, 2, 4)


class ZstdStreamError(ValueError):
    """A zstd stream that is corrupt or cut short."""


class FrameWalker:
    """Tracks whether the bytes fed so far end on a frame boundary."""

    def __init__(self):
        self._state, self._need, self._buf = "magic", 4, bytearray()
        self._skip = 0
        self._checksum = False
        self._last_block = False

    @property
    def at_boundary(self) -> bool:
        return self._state in ("magic", "unknown") and not self._buf and not self._skip

    def feed(self, data: bytes) -> None:
        view, i = memoryview(data), 0
        while i < len(view) and self._state != "unknown":
            if self._skip:
                n = min(self._skip, len(view) - i)
                self._skip -= n
                i += n
                if not self._skip:
                    self._after_skip()
                continue
            n = min(self._need - len(self._buf), len(view) - i)
            self._buf += view[i:i + n]
            i += n
            if len(self._buf) == self._need:
                field = bytes(self._buf)
                self._buf.clear()
                self._on_field(field)

    def _expect(self, state: str, need: int) -> None:
        self._state, self._need = state, need

    def _skip_then(self, count: int, state: str) -> None:
        self._state = state
        self._skip = count
        if not count:
            self._after_skip()

    def _on_field(self, b: bytes) -> None:
        if self._state == "magic":
            if b == _FRAME_MAGIC:
                self._expect("descriptor", 1)
            elif b[1:] == _SKIPPABLE_MAGIC_TAIL and b[0] & 0xF0 == 0x50:
                self._expect("skippable size", 4)
            else:
                self._state = "unknown"  # not a frame: the decompressor reports it
        elif self._state == "descriptor":
            d = b[0]
            single_segment = bool(d & 0x20)
            self._checksum = bool(d & 0x04)
            fcs = _FCS_SIZES[d >> 6] or (1 if single_segment else 0)
            rest = (0 if single_segment else 1) + _DICT_ID_SIZES[d & 0x03] + fcs
            self._skip_then(rest, "header rest")
        elif self._state == "block header":
            header = int.from_bytes(b, "little")
            self._last_block = bool(header & 1)
            block_type, size = (header >> 1) & 0x3, header >> 3
            self._skip_then(1 if block_type == 1 else size, "block")  # an RLE block holds one byte
        elif self._state == "skippable size":
            self._skip_then(int.from_bytes(b, "little"), "skippable")

    def _after_skip(self) -> None:
        if self._state == "header rest" or (self._state == "block" and not self._last_block):
            self._expect("block header", 3)
        elif self._state == "block" and self._checksum:
            self._skip_then(4, "checksum")
        else:  # the frame (or skippable frame) is complete
            self._expect("magic", 4)


class _ZstdReader(io.RawIOBase):
    """Uncompressed bytes of a zstd stream of one or more frames; corrupt or truncated input raises
    ZstdStreamError."""

    def __init__(self, src: BinaryIO):
        self._src = src
        self._walker = FrameWalker()
        self._frames = zstandard.ZstdDecompressor().stream_reader(_CompressedSide(self), read_across_frames=True)

    def read_compressed(self, n: int) -> bytes:  # what the decompressor reads from
        data = self._src.read(n)
        self._walker.feed(data)
        return data

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        try:
            data = self._frames.read(len(b))
        except zstandard.ZstdError as e:
            raise ZstdStreamError(str(e)) from None
        if not data and not self._walker.at_boundary:
            raise ZstdStreamError("zstd decompress error: unexpected EOF")
        b[:len(data)] = data
        return len(data)


class _CompressedSide:
    """What the zstandard reader reads: the source, seen by the frame walker on the way."""

    def __init__(self, reader: _ZstdReader):
        self.read = reader.read_compressed


def open_zstd(fileobj: BinaryIO) -> io.BufferedReader:
    """A buffered reader of the uncompressed bytes of the zstd stream `fileobj`."""
    return io.BufferedReader(_ZstdReader(fileobj), 1 << 16)  # callers peek

"""POST /build/prune for the classic builder, whose cache is the images its steps commit.

A build cache object here is an image this daemon built (it has a parent: pulled and loaded images do not)
that carries no tag or digest and no container uses. By default only the dangling ones go (no child image
either: left behind by a rebuild or a failed build), repeatedly, so a whole abandoned chain of step images
is removed; `all` also removes the step images below tagged images, so the next build starts cold.
"""
from __future__ import annotations

from ..filters import Filters
from ..timefmt import parse_time_filter

ACCEPTED_FILTERS = {"until", "label", "label!", "id", "parent"}


def prune_build_cache(images, all_: bool = False, filters: Filters | None = None) -> dict:
    filters = filters or Filters({})
    filters.validate(ACCEPTED_FILTERS)
    until = parse_time_filter(filters.one("until")) if filters.has("until") else None
    deleted, reclaimed = [], 0

    def remove(image_id: str) -> None:
        nonlocal reclaimed
        before = images.layers.total_size()
        images.delete_unchecked(image_id)  # no conflict checks: candidates are untagged and unused by containers
        reclaimed += before - images.layers.total_size()
        deleted.append(image_id)

    if all_:
        for img in [i for i in images.all_images() if _is_cache(images, i, filters, until)]:
            remove(img.id)
    else:
        changed = True
        while changed:  # a removed leaf can leave its parent dangling in turn
            changed = False
            for img in images.all_images():
                if _is_cache(images, img, filters, until) and not images.children_of(img.id):
                    remove(img.id)
                    changed = True
    return {"CachesDeleted": deleted, "SpaceReclaimed": reclaimed}


def _is_cache(images, img, filters: Filters, until: float | None) -> bool:
    if not img.parent or images.tags_of(img.id) or images.digests_of(img.id) or images.containers.users_of_image(img.id):
        return False
    if until is not None and img.created > until:
        return False
    if filters.has("id") and not any(img.id[7:].startswith(p.removeprefix("sha256:")) for p in filters.get("id")):
        return False
    if filters.has("parent") and not any(img.parent[7:].startswith(p.removeprefix("sha256:"))
                                         for p in filters.get("parent")):
        return False
    labels = (img.config.get("config") or {}).get("Labels") or {}
    return filters.match_labels(labels)

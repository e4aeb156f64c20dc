"""Who is calling: web sessions (the UI's cookie, with a per-session CSRF token) and the Hub API's JWTs.

  - Session: `create(user) -> (session_id, csrf_token)`; the cookie `dockyard_session` holds the id (HttpOnly,
    SameSite=Lax); only sha256(id) is stored. A password change ends the user's sessions.
  - JWT (POST /v2/users/login, /v2/auth/token): HS256 with a secret kept in the database; carries the
    Principal's cap and mark, so a password change or a revoked access token invalidates it.
  - `principal(request)`: Bearer JWT, else the session cookie, else None (anonymous). A bad or revoked JWT
    is a 401.
  - `check_csrf(request, principal)`: a cookie-authenticated request that changes something must carry the
    session's CSRF token, in the `X-CSRFToken` header or a `csrf_token` form field (the pages put it in forms).
"""
import hashlib
import hmac
import secrets
import time
import uuid

import jwt

from dockyard.hub.accounts import Principal
from dockyard.hub.errors import hub_error

SESSION_COOKIE = "dockyard_session"
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
JWT_AUDIENCE = "dockyard-hub"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, store, accounts, config):
        self.store = store
        self.accounts = accounts
        self.config = config
        self._secret = store.setting("jwt_secret", lambda: secrets.token_urlsafe(48))

    # ---- web sessions ----
    def create(self, user: str) -> tuple[str, str]:
        """A new session for `user`: (session id for the cookie, its CSRF token)."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.store.create_session(user, _hash(session_id), csrf, time.time() + self.config.session_ttl)
        return session_id, csrf

    def get(self, session_id: str | None) -> Principal | None:
        if not session_id:
            return None
        row = self.store.get_session(_hash(session_id))
        if row is None:
            return None
        return Principal(row["user"], "admin", "session", csrf=row["csrf"])

    def delete(self, session_id: str | None) -> None:
        if session_id:
            self.store.delete_session(_hash(session_id))

    def set_cookie(self, response, session_id: str, request) -> None:
        response.set_cookie(SESSION_COOKIE, session_id, max_age=int(self.config.session_ttl), path="/",
                            httponly=True, samesite="Lax", secure=request.secure)

    @staticmethod
    def clear_cookie(response) -> None:
        response.del_cookie(SESSION_COOKIE, path="/")

    # ---- JWTs for the API ----
    def issue_jwt(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {"sub": principal.user, "aud": JWT_AUDIENCE, "iat": now, "exp": now + int(self.config.jwt_ttl),
                  "jti": str(uuid.uuid4()), "cap": principal.cap, "mark": principal.mark}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify_jwt(self, token: str) -> Principal | None:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], audience=JWT_AUDIENCE,
                                options={"require": ["sub", "exp"]})
        except jwt.PyJWTError:
            return None
        return self.accounts.still_valid(claims["sub"], claims.get("mark"))

    # ---- per request ----
    def principal(self, request) -> Principal | None:
        """The caller (cached on the request); a bad Bearer token is a 401."""
        if "hub_principal" in request:
            return request["hub_principal"]
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "jwt"):         # Docker Hub takes both words
            principal = self.verify_jwt(token.strip())
            if principal is None:
                raise hub_error(401, "Authentication credentials were not provided or are invalid.",
                                headers={"WWW-Authenticate": 'Bearer realm="dockyard-hub"'})
        else:
            principal = self.get(request.cookies.get(SESSION_COOKIE))
        request["hub_principal"] = principal
        return principal

    def check_csrf(self, request, principal: Principal | None, form_token: str | None = None) -> None:
        """Refuse (403) a cookie-authenticated change without the session's CSRF token."""
        if principal is None or principal.via != "session" or request.method in SAFE_METHODS:
            return
        presented = form_token if form_token is not None else request.headers.get(CSRF_HEADER, "")
        if not presented or not hmac.compare_digest(presented.encode(), principal.csrf.encode()):
            raise hub_error(403, "CSRF Failed: CSRF token missing or incorrect.")

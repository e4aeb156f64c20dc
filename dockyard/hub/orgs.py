"""Organization and team operations shared by the Hub API and the pages. Callers check rights first
(rights.can_manage_org); these validate input (AccountError = HTTP 400; Conflict when a name is taken) and act."""
from dockyard.hub.accounts import AccountError, check_username


def create_org(hub, owner: str, name, full_name: str = "") -> dict:
    """A new organization (its name shares the namespace with users); `owner` is its first owner."""
    return hub.store.create_org(check_username(name), owner, _text(full_name, 255, "full_name"))


def create_team(hub, org: str, name, description: str = "") -> dict:
    return hub.store.create_team(org, check_username(name), _text(description, 500, "description"))


def update_team(hub, team: dict, name=None, description=None) -> dict:
    fields = {}
    if name is not None:
        fields["name"] = check_username(name)
    if description is not None:
        fields["description"] = _text(description, 500, "description")
    hub.store.update_team(team["id"], **fields)
    return hub.store.get_team_by_id(team["id"])


def add_member(hub, team: dict, user) -> None:
    if not isinstance(user, str) or hub.store.get_user(user) is None:
        raise AccountError(f"user {user} does not exist")
    hub.store.add_team_member(team["id"], user)


def _text(value, limit: int, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise AccountError(f"{field} must be a string of at most {limit} characters")
    return value

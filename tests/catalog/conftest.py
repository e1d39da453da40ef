import pytest
from django.contrib.auth.models import Permission, User


def staff_user(username: str, codenames: list[str]) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="catalog", codename__in=codenames
        )
    )
    return user


@pytest.fixture
def viewer_client(client, db):
    """A client logged in as staff who may only view the catalog."""
    user = staff_user(
        "viewer",
        ["view_product", "view_channellisting", "view_identifiermapping"],
    )
    client.force_login(user)
    return client


@pytest.fixture
def importer_client(client, db):
    """A client logged in as staff with the add and change permissions."""
    user = staff_user(
        "importer",
        [
            "view_product",
            "add_channellisting",
            "change_channellisting",
            "add_identifiermapping",
            "change_identifiermapping",
        ],
    )
    client.force_login(user)
    return client

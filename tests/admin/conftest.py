"""Users of each role, and a helper that resubmits an admin form as shown."""

import pytest
from django import forms
from django.contrib.auth.models import Group, User

from connectors.roles import OPS, SUPPORT, setup_roles


def _user_in(role: str) -> User:
    setup_roles()
    user = User.objects.create_user(
        role.lower(), f"{role.lower()}@example.test", "pw", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def support_user(db):
    return _user_in(SUPPORT)


@pytest.fixture
def ops_user(db):
    return _user_in(OPS)


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


def _add_form(data: dict, form) -> None:
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
            continue
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = str(value)


def form_data(response, **changes) -> dict:
    """Return the POST data of an admin add or change page as rendered,
    inlines included, with ``changes`` applied."""
    data = {}
    _add_form(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _add_form(data, formset.management_form)
        for form in formset.forms:
            _add_form(data, form)
    data.update(changes)
    return data

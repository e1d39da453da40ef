"""Admin forms for connectors, in two screens: settings, then connection.

Secrets are write-only: a form says whether each one is set and takes a
replacement, and never renders a stored value.
"""

import secrets
from datetime import timedelta

from django import forms
from django.utils import timezone

from .crypto import mask
from .models import Connector

#: THG's API keeps this many days of order history.
THG_HISTORY_DAYS = 183


def _password_input():
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})


class ConnectorSettingsForm(forms.ModelForm):
    """Screen 1: name, identifier strategy, streams and directions, options."""

    class Meta:
        model = Connector
        fields = [
            "name",
            "kind",
            "identifier_strategy",
            "orders_enabled",
            "orders_interval_minutes",
            "returns_direction",
            "returns_interval_minutes",
            "inventory_enabled",
            "inventory_interval_minutes",
            "fulfillments_enabled",
            "fulfillments_interval_minutes",
            "locations_enabled",
            "locations_interval_minutes",
            "orders_start_date",
            "inventory_sku_allowlist",
            "thg_locations",
            "tiktok_hold_minutes",
            "tiktok_catalog_mode",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("tiktok_catalog_mode")
        if field is not None:
            # Left out of a request, the connector keeps its current mode.
            field.required = False

    def clean_orders_start_date(self):
        start = self.cleaned_data.get("orders_start_date")
        kind = self.cleaned_data.get("kind") or self.instance.kind
        if start and kind == Connector.Kind.THG:
            earliest = timezone.localdate() - timedelta(days=THG_HISTORY_DAYS)
            if start < earliest:
                raise forms.ValidationError(
                    f"{start:%Y-%m-%d} is more than 6 months (183 days) back. THG's "
                    f"API limits order history to 6 months: pick {earliest:%Y-%m-%d} "
                    "or later, and ask THG support for older orders.",
                    code="history_limit",
                )
        return start

    def clean_tiktok_catalog_mode(self):
        from .tiktok.catalog import push_rejection

        mode = self.cleaned_data.get("tiktok_catalog_mode") or (
            self.instance.tiktok_catalog_mode
        )
        kind = self.cleaned_data.get("kind") or self.instance.kind
        if kind == Connector.Kind.THG and mode != Connector.CatalogMode.DISABLED:
            raise forms.ValidationError(
                "THG products are not synced: THG order lines are matched by "
                "identifier. Leave this disabled.",
                code="catalog_not_synced",
            )
        if mode == Connector.CatalogMode.PUSH:
            rejection = push_rejection(self.instance)
            if rejection:
                raise forms.ValidationError(rejection, code="push_not_available")
        return mode

    def clean_thg_locations(self):
        from .thg.mapping import parse_location_pairs

        text = self.cleaned_data.get("thg_locations", "")
        try:
            parse_location_pairs(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid_pairs") from exc
        return text


class ConnectorConnectionForm(forms.ModelForm):
    """Screen 2: the credentials each side uses to call the other."""

    new_thg_client_secret = forms.CharField(
        label="THG client secret", required=False, strip=True, widget=_password_input()
    )
    new_inbound_password = forms.CharField(
        label="Hub password for THG",
        required=False,
        strip=False,
        widget=_password_input(),
    )
    generate_inbound_password = forms.BooleanField(
        label="Generate a new hub password", required=False
    )
    new_tiktok_app_secret = forms.CharField(
        label="App secret", required=False, strip=True, widget=_password_input()
    )

    class Meta:
        model = Connector
        fields = [
            "thg_realm",
            "thg_client_id",
            "inbound_username",
            "tiktok_app_key",
            "tiktok_service_id",
            "api_url",
            "auth_url",
        ]
        help_texts = {
            "thg_realm": "From THG support.",
            "thg_client_id": "From THG support.",
            "inbound_username": "You choose it; THG uses it to call the hub.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        connector = self.instance
        self.generated_password = ""
        self._describe_secret(
            "new_thg_client_secret", connector.thg_client_secret, "from THG support"
        )
        self._describe_secret(
            "new_tiktok_app_secret", connector.tiktok_app_secret, "from Partner Center"
        )
        self.fields["new_inbound_password"].help_text = (
            "Set. Leave both empty to keep it; a new one is shown only once."
            if connector.inbound_password_hash
            else "Enter a password or tick 'generate'. It is stored as a hash and "
            "shown only once."
        )
        if connector.kind == Connector.Kind.THG:
            for name in (
                "tiktok_app_key",
                "tiktok_service_id",
                "new_tiktok_app_secret",
            ):
                del self.fields[name]
        else:
            for name in (
                "thg_realm",
                "thg_client_id",
                "new_thg_client_secret",
                "inbound_username",
                "new_inbound_password",
                "generate_inbound_password",
            ):
                del self.fields[name]

    def _describe_secret(self, field: str, current: str, source: str) -> None:
        if field not in self.fields:
            return
        self.fields[field].help_text = (
            f"Set ({mask(current)}). Leave empty to keep it, or enter a new one."
            if current
            else f"Not set. Enter the value {source}."
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_inbound_password") and cleaned.get(
            "generate_inbound_password"
        ):
            self.add_error(
                "generate_inbound_password",
                "Either enter a password or generate one, not both.",
            )
        return cleaned

    def save(self, commit=True):
        connector = super().save(commit=False)
        for field in ("thg_client_secret", "tiktok_app_secret"):
            value = self.cleaned_data.get(f"new_{field}")
            if value:
                setattr(connector, field, value)
        password = self.cleaned_data.get("new_inbound_password")
        if self.cleaned_data.get("generate_inbound_password"):
            password = secrets.token_urlsafe(18)
        if password:
            connector.set_inbound_password(password)
            self.generated_password = password
        if connector.status == Connector.Status.DRAFT and self.is_complete(connector):
            connector.status = Connector.Status.AWAITING_ACTIVATION
        if commit:
            connector.save()
        return connector

    @staticmethod
    def is_complete(connector: Connector) -> bool:
        if connector.kind == Connector.Kind.THG:
            return all(
                [
                    connector.thg_realm,
                    connector.thg_client_id,
                    connector.thg_client_secret,
                    connector.inbound_username,
                    connector.inbound_password_hash,
                ]
            )
        return all([connector.tiktok_app_key, connector.tiktok_app_secret])


class BackfillForm(forms.Form):
    since = forms.DateField(
        label="From", help_text="YYYY-MM-DD, at most 183 days back."
    )
    until = forms.DateField(label="Until", required=False, help_text="Empty: now.")

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        earliest = timezone.localdate() - timedelta(days=THG_HISTORY_DAYS)
        if since and since < earliest:
            self.add_error(
                "since",
                f"{since:%Y-%m-%d} is more than 6 months back; THG's API keeps 6 "
                f"months of orders. Start at {earliest:%Y-%m-%d} or later, and ask THG "
                "support for older orders.",
            )
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

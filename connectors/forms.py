"""Admin forms for connectors: secrets are write-only."""

import secrets

from django import forms

from .crypto import mask
from .models import Connector

SECRET_FIELDS = {
    "thg_client_secret": "THG client secret",
    "tiktok_app_secret": "TikTok app secret",
}


class ConnectorForm(forms.ModelForm):
    """Shows whether each secret is set, never its value, and takes a new one."""

    new_thg_client_secret = forms.CharField(
        label="THG client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    new_tiktok_app_secret = forms.CharField(
        label="TikTok app secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    new_inbound_password = forms.CharField(
        label="Hub password for THG",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Enter a password, or tick 'generate' below. It is stored as a "
        "hash and shown only once.",
    )
    generate_inbound_password = forms.BooleanField(
        label="Generate a new hub password", required=False
    )

    class Meta:
        model = Connector
        fields = [
            "name",
            "kind",
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
            "identifier_strategy",
            "inventory_sku_allowlist",
            "thg_realm",
            "thg_client_id",
            "thg_locations",
            "inbound_username",
            "tiktok_app_key",
            "tiktok_service_id",
            "tiktok_shop_id",
            "tiktok_shop_cipher",
            "tiktok_shop_region",
            "tiktok_hold_minutes",
            "api_url",
            "auth_url",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        for field, label in SECRET_FIELDS.items():
            current = getattr(instance, field, "")
            self.fields[f"new_{field}"].help_text = (
                f"Set ({mask(current)}). Leave empty to keep it, or enter a new one "
                "to replace it."
                if current
                else f"Not set. Enter the {label}."
            )
        if instance.inbound_password_hash:
            self.fields["new_inbound_password"].help_text = (
                "Set. Leave empty to keep it, or enter or generate a new one (shown "
                "once)."
            )
        self.generated_password = ""

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
        for field in SECRET_FIELDS:
            value = self.cleaned_data.get(f"new_{field}")
            if value:
                setattr(connector, field, value)
        password = self.cleaned_data.get("new_inbound_password")
        if self.cleaned_data.get("generate_inbound_password"):
            password = secrets.token_urlsafe(18)
            self.generated_password = password
        elif password:
            self.generated_password = password
        if password:
            connector.set_inbound_password(password)
        if commit:
            connector.save()
            self.save_m2m()
        return connector

from django import forms
from django.utils import timezone

from inventory.models import Location

from .models import OrderLine


class FulfilForm(forms.Form):
    """A shipment of an order: where from, how, and how many of each open line."""

    location = forms.ModelChoiceField(queryset=Location.objects.filter(active=True))
    carrier = forms.CharField(max_length=100)
    service = forms.CharField(max_length=100, required=False)
    tracking_number = forms.CharField(max_length=100)
    tracking_url = forms.URLField(required=False, assume_scheme="https")
    shipped_at = forms.DateTimeField(initial=timezone.now)

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.open_lines = [
            line
            for line in order.lines.select_related("product")
            if line.status == OrderLine.Status.OPEN and line.quantity_open > 0
        ]
        if order.location_id:
            self.fields["location"].initial = order.location_id
        for line in self.open_lines:
            sku = line.product.sku if line.product else "unmatched"
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=f"{line.title or line.upc} ({sku})",
                min_value=0,
                max_value=line.quantity_open,
                initial=line.quantity_open,
                help_text=f"{line.quantity_open} of {line.quantity} still open",
            )

    def line_fields(self):
        return [self[f"line_{line.pk}"] for line in self.open_lines]

    def quantities(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data.get(f"line_{line.pk}") or 0
            for line in self.open_lines
        }

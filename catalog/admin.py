"""Admin for the catalog: products with their Channel Options, mappings,
mapping imports, the identifier audit and the match preview."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import slugify
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, TSV, XLSX

from config.admin import HistoryAdmin, RelatedHistoryMixin
from connectors.models import Connector
from orders.recheck import queue_check_again

from . import audit, import_jobs
from .forms import MappingConfirmImportForm, MappingExportForm, MappingImportForm
from .mapping_import import ASYNC_ROW_THRESHOLD
from .models import (
    CHANNEL_SKU_KINDS,
    ChannelListing,
    IdentifierMapping,
    ImportJob,
    Product,
)
from .resources import MappingFileFormat, MappingImportResult, MappingResource
from .tabular import TableError, read_table

#: A user needs all of these to import a mapping file, which may write
#: either model depending on the connector's strategy.
IMPORT_PERMISSIONS = (
    "catalog.add_channellisting",
    "catalog.change_channellisting",
    "catalog.add_identifiermapping",
    "catalog.change_identifiermapping",
)
#: Findings listed per kind on the audit page; the rest are counted.
AUDIT_PAGE_LIMIT = 200


def can_import_mappings(user) -> bool:
    """Return whether ``user`` may import UPC-to-SKU mapping files."""
    return user.is_active and user.has_perms(IMPORT_PERMISSIONS)


def _can_view(user, model_name: str) -> bool:
    return user.has_perm(f"catalog.view_{model_name}") or user.has_perm(
        f"catalog.change_{model_name}"
    )


# Channel Options on the product page.


class _ChannelOptionsInline(admin.TabularInline):
    """Channel Options of the connectors of some kinds: one row per connector.

    Every connector of those kinds without a row for the product gets an
    empty one; an empty row left untouched is not saved.
    """

    model = ChannelListing
    kinds: frozenset = frozenset()
    extra = 0

    def _connectors(self):
        return Connector.objects.filter(kind__in=self.kinds).order_by("name")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(connector__kind__in=self.kinds)
            .select_related("connector")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "connector":
            kwargs["queryset"] = self._connectors()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def missing_connectors(self, obj) -> list[Connector]:
        connectors = list(self._connectors())
        if obj is None or obj.pk is None:
            return connectors
        listed = set(obj.listings.values_list("connector_id", flat=True))
        return [connector for connector in connectors if connector.pk not in listed]

    def get_extra(self, request, obj=None, **kwargs):
        return len(self.missing_connectors(obj))

    def get_max_num(self, request, obj=None, **kwargs):
        return self._connectors().count()


class ChannelOptionsInline(_ChannelOptionsInline):
    """Channel Options of THG connectors, with the Channel SKU column.

    A parent product with no Channel SKU does not show the column: its
    variants carry the Channel SKUs.
    """

    kinds = CHANNEL_SKU_KINDS
    verbose_name = "channel option (THG)"
    verbose_name_plural = "channel options (THG)"
    fields = ["connector", "channel_sku", "active"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.pk and self._hides_channel_sku(obj):
            fields.remove("channel_sku")
        return fields

    @staticmethod
    def _hides_channel_sku(product: Product) -> bool:
        is_parent = Product.objects.filter(parent_id=product.pk).exists()
        has_channel_sku = product.listings.filter(channel_sku__isnull=False).exists()
        return is_parent and not has_channel_sku


class SellerSkuOptionsInline(_ChannelOptionsInline):
    """Channel Options of TikTok Shop connectors, which have no Channel SKU."""

    kinds = frozenset(Connector.Kind) - CHANNEL_SKU_KINDS
    verbose_name = "channel option (TikTok Shop)"
    verbose_name_plural = (
        "channel options (TikTok Shop: no Channel SKU, the seller SKU must "
        "equal the master SKU)"
    )
    fields = ["connector", "channel_product_id", "channel_sku_id", "active"]


# Products.


class ProductRoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [
            ("parent", "Parent (has variants)"),
            ("variant", "Variant (has a parent)"),
            ("single", "Single product"),
        ]

    def queryset(self, request, queryset):
        has_variants = Exists(Product.objects.filter(parent_id=OuterRef("pk")))
        if self.value() == "parent":
            return queryset.filter(has_variants)
        if self.value() == "variant":
            return queryset.filter(parent__isnull=False)
        if self.value() == "single":
            return queryset.filter(parent__isnull=True).exclude(has_variants)
        return queryset


@admin.register(Product)
class ProductAdmin(RelatedHistoryMixin, ImportExportMixin, HistoryAdmin):
    list_display = ["sku", "name", "upc", "parent", "active"]
    list_filter = [
        "active",
        ProductRoleFilter,
        ("listings__connector", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["sku", "name", "upc"]
    search_help_text = "Search by SKU, name or UPC."
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]
    fields = ["sku", "name", "upc", "parent", "safety_stock", "active"]
    inlines = [ChannelOptionsInline, SellerSkuOptionsInline]
    related_history = [
        (ChannelListing, "product", "Channel Options"),
        (IdentifierMapping, "product", "Identifier mappings"),
    ]

    resource_classes = [MappingResource]
    import_form_class = MappingImportForm
    confirm_form_class = MappingConfirmImportForm
    export_form_class = MappingExportForm
    import_template_name = "admin/catalog/product/import_mappings.html"
    import_export_change_list_template = (
        "admin/catalog/product/change_list_mappings.html"
    )
    # An import of 100,000 rows would write 100,000 log entries; the job
    # records who imported what instead.
    skip_admin_log = True
    to_encoding = "utf-8-sig"

    def get_urls(self):
        urls = [
            path(
                "audit/",
                self.admin_site.admin_view(self.audit_view),
                name="catalog_product_audit",
            ),
            path(
                "match-preview/",
                self.admin_site.admin_view(self.match_preview_view),
                name="catalog_product_match_preview",
            ),
            path(
                "match-preview/<int:connector_id>/",
                self.admin_site.admin_view(self.match_preview_view),
                name="catalog_product_match_preview",
            ),
        ]
        return urls + super().get_urls()

    # Channel Options.

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, _ChannelOptionsInline):
            kwargs["initial"] = [
                {"connector": connector.pk}
                for connector in inline.missing_connectors(obj)
            ]
        return kwargs

    def save_related(self, request, form, formsets, change):
        from inventory.availability import mark_changed

        super().save_related(request, form, formsets, change)
        # Safety stock, the UPC or a Channel SKU may have changed what each
        # connector should be sent; the next push compares this product.
        mark_changed([form.instance.pk])
        if not change or "sku" in form.changed_data:
            # Strategy A and TikTok Shop match master SKUs: any connector
            # may have lines waiting for this SKU.
            queue_check_again(None)
            return
        changed = {
            listing_form.instance.connector_id
            for formset in formsets
            if formset.model is ChannelListing
            for listing_form in formset.forms
            if listing_form.has_changed() and listing_form.instance.pk
        }
        if changed:
            queue_check_again(changed)

    # Import and export of UPC mappings.

    def has_import_permission(self, request):
        return can_import_mappings(request.user)

    def has_export_permission(self, request):
        user = request.user
        return (
            self.has_view_permission(request)
            and _can_view(user, "channellisting")
            and _can_view(user, "identifiermapping")
        )

    def get_import_formats(self):
        return [MappingFileFormat]

    def get_export_formats(self):
        return [CSV, XLSX, TSV]

    def get_import_resource_kwargs(self, request, **kwargs):
        data = getattr(kwargs.get("form"), "cleaned_data", None) or {}
        return {
            "connector": data.get("connector"),
            "skip_bad_rows": data.get("skip_bad_rows", False),
        }

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        context["async_threshold"] = ASYNC_ROW_THRESHOLD
        return context

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["connector"] = import_form.cleaned_data["connector"].pk
            initial["skip_bad_rows"] = import_form.cleaned_data["skip_bad_rows"]
        return initial

    def import_action(self, request, **kwargs):
        """Show the import form and the preview; hand large files to a task.

        A file of more than ``ASYNC_ROW_THRESHOLD`` rows becomes an
        :class:`ImportJob` whose check runs in django-q2, and the browser
        goes to the job page at once.
        """
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = self.create_import_form(request)
            if form.is_valid():
                job = self._start_large_import(request, form)
                if job is not None:
                    messages.info(
                        request,
                        f"{job.file_name} is being checked in the background. "
                        "This page shows the progress; confirm the import "
                        "here once the check is done.",
                    )
                    return redirect("admin:catalog_importjob_change", job.pk)
        return super().import_action(request, **kwargs)

    def _start_large_import(self, request, form):
        upload = form.cleaned_data["import_file"]
        content = b"".join(upload.chunks())
        upload.seek(0)
        try:
            rows = read_table(content).estimated_rows
        except TableError:
            return None
        if rows <= ASYNC_ROW_THRESHOLD:
            return None
        return import_jobs.start_job(
            form.cleaned_data["connector"],
            content,
            upload.name,
            user=request.user,
            skip_bad_rows=form.cleaned_data["skip_bad_rows"],
        )

    def process_dataset(self, dataset, form, request, **kwargs):
        """Write a confirmed small file through an :class:`ImportJob`."""
        job = import_jobs.run_now(
            form.cleaned_data["connector"],
            dataset.content,
            form.cleaned_data.get("original_file_name") or "upload",
            user=request.user,
            skip_bad_rows=form.cleaned_data["skip_bad_rows"],
        )
        return MappingImportResult(job.report, job=job)

    def process_result(self, result, request):
        job = result.job
        report = result.report
        if job.status == ImportJob.Status.SUCCEEDED and not report.rejected:
            level = messages.SUCCESS
        elif job.status == ImportJob.Status.SUCCEEDED:
            level = messages.WARNING
        else:
            level = messages.ERROR
        messages.add_message(request, level, report.summary())
        return redirect("admin:catalog_importjob_change", job.pk)

    def get_export_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("export_form")
        data = getattr(form, "cleaned_data", None) or {}
        return {"connector": data.get("connector")}

    def get_export_filename(self, request, queryset, file_format):
        connector = Connector.objects.filter(pk=request.POST.get("connector")).first()
        name = slugify(connector.name) if connector else "connector"
        date = timezone.localdate().isoformat()
        return f"upc-mappings-{name}-{date}.{file_format.get_extension()}"

    # The identifier audit and the match preview.

    def audit_view(self, request):
        """List every identifier problem, for one connector or for all."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        connectors = list(Connector.objects.order_by("name"))
        selected = next(
            (c for c in connectors if str(c.pk) == request.GET.get("connector")),
            None,
        )
        findings = audit.audit_identifiers(selected)
        context = {
            **self.admin_site.each_context(request),
            "title": "Identifier audit",
            "opts": self.opts,
            "connectors": connectors,
            "selected": selected,
            "total": len(findings),
            "groups": _group_findings(findings, connectors),
        }
        return TemplateResponse(request, "admin/catalog/audit.html", context)

    def match_preview_view(self, request, connector_id=None):
        """Count how many recent order lines the current mappings match."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        connectors = list(Connector.objects.order_by("name"))
        connector = None
        preview = None
        days = _days(request.GET.get("days"))
        if connector_id is not None:
            connector = get_object_or_404(Connector, pk=connector_id)
            preview = audit.preview_matches(connector, days=days)
        context = {
            **self.admin_site.each_context(request),
            "title": "Match preview" + (f": {connector.name}" if connector else ""),
            "opts": self.opts,
            "connectors": connectors,
            "connector": connector,
            "preview": preview,
            "days": days,
        }
        return TemplateResponse(request, "admin/catalog/match_preview.html", context)


def _days(value) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        return audit.RECENT_DAYS
    return min(max(days, 1), 366)


def _group_findings(findings, connectors) -> list[dict]:
    """Group findings by kind for the audit page, with product SKUs to link."""
    names = {connector.pk: connector.name for connector in connectors}
    by_kind: dict[str, list] = {}
    for finding in findings:
        by_kind.setdefault(finding.kind, []).append(finding)
    shown_ids = {
        pk
        for items in by_kind.values()
        for finding in items[:AUDIT_PAGE_LIMIT]
        for pk in finding.product_ids
    }
    skus = dict(Product.objects.filter(pk__in=shown_ids).values_list("pk", "sku"))
    groups = []
    for kind, items in by_kind.items():
        rows = [
            {
                "finding": finding,
                "connector": names.get(finding.connector_id, ""),
                "products": [
                    (reverse("admin:catalog_product_change", args=[pk]), skus[pk])
                    for pk in finding.product_ids
                    if pk in skus
                ],
            }
            for finding in items[:AUDIT_PAGE_LIMIT]
        ]
        groups.append(
            {
                "kind": kind,
                "label": audit.Kind.LABELS[kind],
                "count": len(items),
                "rows": rows,
                "hidden": max(len(items) - AUDIT_PAGE_LIMIT, 0),
            }
        )
    return groups


# Channel Options and mappings as lists of their own.


@admin.register(ChannelListing)
class ChannelListingAdmin(HistoryAdmin):
    list_display = [
        "product",
        "connector",
        "channel_sku",
        "channel_product_id",
        "channel_sku_id",
        "active",
    ]
    list_filter = ["connector", "active"]
    search_fields = ["product__sku", "channel_sku", "channel_sku_id"]
    autocomplete_fields = ["product", "connector"]
    list_select_related = ["product", "connector"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        queue_check_again([obj.connector_id])


@admin.register(IdentifierMapping)
class IdentifierMappingAdmin(HistoryAdmin):
    list_display = ["channel_identifier", "product", "connector", "updated_at"]
    list_filter = ["connector"]
    search_fields = ["channel_identifier", "product__sku"]
    autocomplete_fields = ["product"]
    list_select_related = ["product", "connector"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "connector":
            kwargs["queryset"] = Connector.objects.filter(
                kind__in=CHANNEL_SKU_KINDS
            ).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        queue_check_again([obj.connector_id])


# Mapping imports.


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "file_name",
        "connector",
        "status",
        "progress",
        "written",
        "rejected",
        "created_by",
    ]
    list_filter = ["status", "connector"]
    list_select_related = ["connector", "created_by"]
    search_fields = ["file_name"]
    change_form_template = "admin/catalog/importjob/change_form.html"
    fields = [
        "connector",
        "file_name",
        "status",
        "skip_bad_rows",
        "dry_run",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]

    @admin.display(description="progress")
    def progress(self, job):
        rows = "row" if job.total_rows == 1 else "rows"
        if job.is_active and job.total_rows:
            return f"{job.processed_rows} of {job.total_rows} {rows}"
        return f"{job.total_rows} {rows}"

    @admin.display(description="written")
    def written(self, job):
        return job.written

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or can_import_mappings(
            request.user
        )

    def get_urls(self):
        return [
            path(
                "<int:job_id>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="catalog_importjob_confirm",
            ),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if job is not None:
            extra_context.update(
                {
                    "job": job,
                    "can_confirm": job.status == ImportJob.Status.CHECKED
                    and can_import_mappings(request.user),
                    "refresh_seconds": 2 if job.is_active else None,
                    "hidden_errors": max(job.error_count - len(job.row_errors), 0),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def confirm_view(self, request, job_id):
        """Queue the write of a checked job (POST only)."""
        if request.method != "POST" or not can_import_mappings(request.user):
            raise PermissionDenied
        job = get_object_or_404(ImportJob, pk=job_id)
        if import_jobs.confirm_job(job):
            messages.info(request, f"{job.file_name} is being imported.")
        else:
            messages.warning(
                request,
                f"{job.file_name} was not imported: it is "
                f"{job.get_status_display().lower()}, not checked.",
            )
        return redirect("admin:catalog_importjob_change", job.pk)

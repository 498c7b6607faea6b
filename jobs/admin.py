from django.contrib import admin

from jobs.models import Job, JobEvent


class JobEventInline(admin.TabularInline):
    model = JobEvent
    fields = ("seq", "type", "payload", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("seq",)

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "template", "status", "percent", "owner", "created_at")
    list_filter = ("status", "template", "created_at")
    search_fields = ("=id", "name", "owner__username", "owner__email")
    list_select_related = ("owner",)
    readonly_fields = ("id", "status", "percent", "step", "message", "eta_s", "last_seq",
                       "error", "created_at", "started_at", "finished_at", "heartbeat_at")
    raw_id_fields = ("owner", "retry_of")
    date_hierarchy = "created_at"
    inlines = [JobEventInline]


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    list_display = ("job", "seq", "type", "created_at")
    list_filter = ("type",)
    search_fields = ("=job__id",)
    raw_id_fields = ("job",)
    list_select_related = ("job",)

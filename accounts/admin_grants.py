"""Django's delete pages list by name every object a delete takes along or is
blocked by. An object the user may not see (a job or context restricted to
other groups, or a link to one) is listed without its name, as in the API's
409s."""

from functools import partial

from django.contrib.admin.utils import NestedObjects, quote
from django.db import router
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from accounts.access import restrict_to_groups, sees_everything


class HiddenObjectsUnnamedOnDeletePages:
    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if not sees_everything(request):
            collector = NestedObjects(using=router.db_for_write(self.model), origin=objs)
            collector.collect(objs)
            describe = partial(_listed, self.admin_site, request.user)
            to_delete, protected = collector.nested(describe), [describe(obj) for obj in collector.protected]
        return to_delete, model_count, perms_needed, protected


def _hidden(user, obj) -> bool:
    """A grant-restricted object (jobs and contexts carry `allowed_groups`) the user may not see."""
    if obj is None or not hasattr(obj, "allowed_groups"):
        return False
    return not restrict_to_groups(type(obj)._default_manager.filter(pk=obj.pk), user).exists()


def _listed(admin_site, user, obj) -> str:
    """`obj` as Django's delete pages list it (linked to its change page), unless it is hidden."""
    opts = obj._meta
    label = capfirst(opts.verbose_name)
    if _hidden(user, obj):
        return f"{label}: a {opts.verbose_name} you cannot see"
    pointed_to = [getattr(obj, field.name) for field in opts.concrete_fields if field.many_to_one]
    hidden_ends = [target for target in pointed_to if _hidden(user, target)]
    if hidden_ends:
        return f"{label}: with a {hidden_ends[0]._meta.verbose_name} you cannot see"
    if admin_site.is_registered(type(obj)):
        try:
            url = reverse(
                f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=(quote(obj.pk),)
            )
        except NoReverseMatch:
            pass
        else:
            return format_html('{}: <a href="{}">{}</a>', label, url, obj)
    return f"{label}: {obj}"

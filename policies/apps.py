from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"

    def ready(self) -> None:
        from core.identity import shop_identity_changed_handler_register

        from .services import documents_republish_for_contact

        # Policy pages quote the shop's support contact: republish them when it changes.
        shop_identity_changed_handler_register(documents_republish_for_contact)

        # The active preset's process-local copy (selectors.preset_active_cached_get) is
        # dropped everywhere on any change of a preset row (activation, admin edit, load).
        # Cache invalidation only: no business logic hangs on these receivers.
        from django.db.models.signals import post_delete, post_save

        from core.versioned_cache import versioned_cache_bumper

        from .models import PolicyPreset
        from .selectors import PRESET_ACTIVE_CACHE

        receiver = versioned_cache_bumper(PRESET_ACTIVE_CACHE)
        for signal, uid in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(receiver, sender=PolicyPreset, weak=False, dispatch_uid=f"preset:{uid}")

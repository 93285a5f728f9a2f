from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"

    def ready(self) -> None:
        # Imports here: models and services need the app registry ready.
        from django.db.models.signals import post_delete, post_save

        from core.identity import shop_identity_changed_handler_register
        from core.shop_clock import shop_time_zone_providers
        from core.versioned_cache import versioned_cache_bumper

        from .models import PolicyPreset
        from .selectors import PRESET_ACTIVE_CACHE, preset_time_zone_get
        from .services import documents_republish_for_contact

        # Policy pages quote the shop's support contact: republish them when it changes.
        shop_identity_changed_handler_register(documents_republish_for_contact)

        # The store's clock is the active preset's calendar (core.shop_clock asks us).
        if preset_time_zone_get not in shop_time_zone_providers:
            shop_time_zone_providers.append(preset_time_zone_get)

        # The active preset's process-local copy (selectors.preset_active_cached_get) is
        # dropped everywhere on any change of a preset row (activation, admin edit, load).
        # Cache invalidation only: no business logic hangs on these receivers.
        receiver = versioned_cache_bumper(PRESET_ACTIVE_CACHE)
        for signal, uid in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(receiver, sender=PolicyPreset, weak=False, dispatch_uid=f"preset:{uid}")

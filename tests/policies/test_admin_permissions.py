"""Switching the shop's active policy needs policies.activate_preset and is logged."""

import pytest

from policies.models import PolicyPreset
from policies.services import preset_load
from tests.staff import staff_login
from tests.staff_perms import action_offered, admin_log, staff_with_perms

pytestmark = pytest.mark.django_db

PRESETS = "/admin/policies/policypreset/"


def _activate(client, preset):
    return client.post(PRESETS, {"action": "activate_preset", "_selected_action": [preset.pk]})


def test_a_view_only_staff_member_cannot_switch_the_active_policy(client):
    antimart = preset_load(slug="antimart", activate=True).preset
    nova = preset_load(slug="novakeys").preset
    staff_login(client=client, user=staff_with_perms("policies.view_policypreset"))
    assert not action_offered(client, changelist_url=PRESETS, action="activate_preset")
    _activate(client, nova)
    assert list(PolicyPreset.objects.filter(is_active=True)) == [antimart]


def test_staff_with_activate_preset_switch_it_and_the_admin_log_says_so(client):
    preset_load(slug="antimart", activate=True)
    nova = preset_load(slug="novakeys").preset
    user = staff_with_perms("policies.view_policypreset", "policies.activate_preset")
    staff_login(client=client, user=user)
    assert action_offered(client, changelist_url=PRESETS, action="activate_preset")
    _activate(client, nova)
    assert list(PolicyPreset.objects.filter(is_active=True)) == [nova]
    assert admin_log(obj=nova, user=user) == ["Made the shop's active policy"]

"""Staff choose the active preset in the admin; the action goes through preset_activate."""

import pytest

from policies.models import PolicyPreset
from policies.services import preset_load
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def test_admin_action_activates_one_preset(client, staff_user):
    preset_load(slug="antimart", activate=True)
    nova = preset_load(slug="novakeys").preset
    staff_login(client=client, user=staff_user)
    response = client.post(
        "/admin/policies/policypreset/",
        {"action": "activate_preset", "_selected_action": [nova.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert list(PolicyPreset.objects.filter(is_active=True)) == [nova]


def test_admin_action_refuses_two_presets(client, staff_user):
    a = preset_load(slug="antimart").preset
    b = preset_load(slug="novakeys").preset
    staff_login(client=client, user=staff_user)
    client.post(
        "/admin/policies/policypreset/",
        {"action": "activate_preset", "_selected_action": [a.pk, b.pk]},
    )
    assert not PolicyPreset.objects.filter(is_active=True).exists()


@pytest.mark.parametrize("model", ["policypreset", "policydocument", "policyacceptance"])
def test_admin_lists_render(client, staff_user, model):
    preset_load(slug="allkeymasters", activate=True)
    staff_login(client=client, user=staff_user)
    assert client.get(f"/admin/policies/{model}/").status_code == 200


def test_settings_no_seed_states_are_marked_as_the_shops_own_choice(client, staff_user):
    """AllKeyMasters names no time zone; Anti Mart counts "working days" without naming them."""
    akm = preset_load(slug="allkeymasters", activate=True).preset
    anti = preset_load(slug="antimart").preset
    staff_login(client=client, user=staff_user)
    page = client.get(f"/admin/policies/policypreset/{akm.pk}/change/").content.decode()
    assert "Time zone: Europe/Paris" in page and "the shop&#x27;s own choice" in page
    page = client.get(f"/admin/policies/policypreset/{anti.pk}/change/").content.decode()
    assert "Working days: Monday, Tuesday, Wednesday, Thursday, Friday" in page
    public = client.get("/policies/").content.decode()
    assert 'data-field="calendar.time_zone"' in public and "Europe/Paris" in public
    assert "own choice" in public

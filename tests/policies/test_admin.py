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

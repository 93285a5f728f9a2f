"""How to activate a key or redeem a code, per platform: the steps shown on the product
page (before buying) and beside the key after payment.

The steps are the platforms' own public procedures, written generically (menu names as
the platform shows them in English; translated with the rest of the shop). A product's
own ``activation_instructions`` (written by staff) are shown in addition, never instead.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Platform, ProductKind

_WINDOWS_LICENSE = (
    _("Open Settings, then System, then Activation."),
    _("Select Change product key (or Change next to Upgrade your edition of Windows)."),
    _("Type or paste the 25-character key and select Next."),
    _("Select Activate. Windows checks the key online; keep the PC connected to the internet."),
)
_MACOS_LICENSE = (
    _("Download the software from the publisher's website or the link in your order email."),
    _("Open the app and choose Activate, Enter licence or Sign in when it asks."),
    _("Paste the key exactly as shown, then confirm."),
    _("Keep the key in a safe place: you need it again to reinstall."),
)
_LINUX_LICENSE = (
    _("Install the software from the publisher's website or package repository."),
    _("Open the app's licence or registration screen (often under Help or Settings)."),
    _("Paste the key exactly as shown and confirm."),
)
_ANDROID_LICENSE = (
    _("Install the app from Google Play."),
    _("Open it and choose Enter licence, Activate or Redeem in its menu."),
    _("Paste the key and confirm. Some apps ask you to sign in to the publisher's account first."),
)
_MULTI_LICENSE = (
    _("Download the software from the publisher's website for each of your devices."),
    _("Sign in to, or create, your account with the publisher when the app asks."),
    _("Choose Enter key, Activate or Redeem and paste the key exactly as shown."),
    _("Add your other devices from the same account, up to the number in the product name."),
)
_STEAM_KEY = (
    _("Open the Steam app and sign in."),
    _("Choose Games in the menu bar, then Activate a Product on Steam."),
    _("Paste the key, accept the subscriber agreement and select Confirm."),
    _("The game appears in your Library, ready to install."),
)
_STEAM_WALLET = (
    _("Sign in to Steam in the app or at store.steampowered.com."),
    _("Open your account menu, then Account details, then Add funds to your Steam Wallet."),
    _("Choose Redeem a Steam Gift Card or Wallet Code and paste the code."),
    _("Select Continue: the amount is added to your wallet at once."),
)
_XBOX_KEY = (
    _("On the console, open Microsoft Store (or go to redeem.microsoft.com on a computer)."),
    _("Choose Redeem a code and sign in with your Microsoft account."),
    _("Enter the 25-character code and select Next, then Confirm."),
)
_XBOX_GIFT = (
    _("Go to redeem.microsoft.com, or open Microsoft Store on your Xbox and choose Redeem."),
    _("Sign in with the Microsoft account you want to add the money to."),
    _("Enter the 25-character code and select Next, then Confirm: the balance is added."),
)
_PLAYSTATION = (
    _("On the console, open PlayStation Store and choose the … menu, then Redeem codes."),
    _("Or sign in at store.playstation.com, open your profile, then Redeem codes."),
    _("Enter the 12-character code and select Redeem. The account region must match the card."),
)
_NINTENDO = (
    _("On the Nintendo Switch, open Nintendo eShop and choose the account to use."),
    _("Select Enter Code in the menu on the left."),
    _("Enter the 16-character code and select OK, then Redeem."),
)

_STEPS: dict[tuple[str, str], tuple[Promise, ...]] = {
    (Platform.WINDOWS, ProductKind.LICENSE_KEY): _WINDOWS_LICENSE,
    (Platform.MACOS, ProductKind.LICENSE_KEY): _MACOS_LICENSE,
    (Platform.LINUX, ProductKind.LICENSE_KEY): _LINUX_LICENSE,
    (Platform.ANDROID, ProductKind.LICENSE_KEY): _ANDROID_LICENSE,
    (Platform.MULTI, ProductKind.LICENSE_KEY): _MULTI_LICENSE,
    (Platform.STEAM, ProductKind.LICENSE_KEY): _STEAM_KEY,
    (Platform.STEAM, ProductKind.GIFT_CODE): _STEAM_WALLET,
    (Platform.XBOX, ProductKind.LICENSE_KEY): _XBOX_KEY,
    (Platform.XBOX, ProductKind.GIFT_CODE): _XBOX_GIFT,
    (Platform.PLAYSTATION, ProductKind.LICENSE_KEY): _PLAYSTATION,
    (Platform.PLAYSTATION, ProductKind.GIFT_CODE): _PLAYSTATION,
    (Platform.NINTENDO, ProductKind.LICENSE_KEY): _NINTENDO,
    (Platform.NINTENDO, ProductKind.GIFT_CODE): _NINTENDO,
}
_GENERIC = (
    _("Open the product's app or website and sign in to your account."),
    _("Find Activate, Redeem or Enter key in its menu."),
    _("Paste the key exactly as shown and confirm."),
)


def activation_steps(*, platform: str, kind: str = ProductKind.LICENSE_KEY) -> list[str]:
    """The activation steps for a platform and kind of product, in the active language."""
    steps = _STEPS.get((platform, kind)) or _STEPS.get((platform, ProductKind.LICENSE_KEY))
    return [str(step) for step in steps or _GENERIC]


def product_activation_steps(*, product) -> list[str]:
    return activation_steps(platform=product.platform, kind=product.kind)

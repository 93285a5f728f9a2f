"""Demo catalog data for `manage.py seed_demo`: believable products, safe to load twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.text import slugify

CATEGORIES = [
    ("operating-systems", "Operating systems", 1),
    ("office", "Office suites", 2),
    ("antivirus", "Antivirus and security", 3),
    ("gift-cards", "Gift cards", 4),
]

WIN_REQ = "1 GHz 64-bit processor, 4 GB RAM, 64 GB storage, TPM 2.0, UEFI Secure Boot."
OFFICE_REQ = "Windows 10 or 11; 4 GB RAM; 4 GB free disk space."

PRODUCTS: list[dict[str, Any]] = [
    dict(
        sku="WIN11-PRO",
        name="Windows 11 Pro",
        category="operating-systems",
        platform="windows",
        edition="11 Pro",
        price="29.90",
        warranty=0,
        system_requirements=WIN_REQ,
        compatibility_notes="Upgrades Windows 11 Home or activates a clean Pro install. "
        "Does not work on Mac computers.",
        description="Retail licence for one PC. Full Windows 11 Pro features: BitLocker, "
        "Remote Desktop host, Hyper-V.",
        key_format=r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$",
    ),
    dict(
        sku="WIN11-HOME",
        name="Windows 11 Home",
        category="operating-systems",
        platform="windows",
        edition="11 Home",
        price="24.90",
        warranty=0,
        system_requirements=WIN_REQ,
        compatibility_notes="Activates Windows 11 Home only; a Pro installation needs a Pro key.",
        description="Retail licence for one PC.",
        key_format=r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$",
    ),
    dict(
        sku="WIN10-PRO",
        name="Windows 10 Pro",
        category="operating-systems",
        platform="windows",
        edition="10 Pro",
        price="19.90",
        warranty=0,
        system_requirements="1 GHz processor, 2 GB RAM (64-bit), 20 GB storage.",
        compatibility_notes="For Windows 10 Pro. A Windows 10 Home system needs the Home key.",
        description="Retail licence for one PC.",
        key_format=r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$",
    ),
    dict(
        sku="OFF21-PP",
        name="Office 2021 Professional Plus",
        category="office",
        platform="windows",
        edition="2021 Professional Plus",
        price="39.90",
        warranty=0,
        system_requirements=OFFICE_REQ,
        compatibility_notes="Windows only. Cannot upgrade Office 2021 Home and Student.",
        description="Word, Excel, PowerPoint, Outlook, Access and Publisher for one PC.",
        key_format=r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$",
    ),
    dict(
        sku="OFF21-HS-MAC",
        name="Office 2021 Home and Student for Mac",
        category="office",
        platform="macos",
        edition="2021 Home and Student",
        price="59.90",
        warranty=0,
        system_requirements="macOS, one of the three most recent versions.",
        compatibility_notes="Mac only.",
        description="Word, Excel and PowerPoint for one Mac.",
        key_format=r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$",
    ),
    dict(
        sku="NORTON-360-1Y",
        name="Norton 360 Deluxe, 1 year, 3 devices",
        category="antivirus",
        platform="multi",
        edition="Deluxe 2026",
        price="22.50",
        warranty=12,
        system_requirements="Windows 10/11, macOS 13+, Android 8+, iOS 16+.",
        compatibility_notes="Try the manufacturer's free trial first to check compatibility.",
        description="Antivirus, VPN and password manager for three devices, one year.",
    ),
    dict(
        sku="QH-TS-1Y",
        name="Quick Heal Total Security, 1 year",
        category="antivirus",
        platform="windows",
        edition="Total Security",
        price="14.90",
        warranty=12,
        system_requirements="Windows 10/11, 2 GB RAM.",
        compatibility_notes="Total Security, not Internet Security: check which one you need.",
        description="One PC, one year.",
    ),
    dict(
        sku="K7-AV-1Y",
        name="K7 Antivirus Premium, 1 year",
        category="antivirus",
        platform="windows",
        edition="Premium",
        price="9.90",
        warranty=12,
        system_requirements="Windows 10/11.",
        description="One PC, one year.",
    ),
    dict(
        sku="STEAM-20",
        name="Steam Wallet gift card 20 EUR",
        category="gift-cards",
        platform="steam",
        kind="gift_code",
        denomination="20.00",
        denomination_currency="EUR",
        region="EU",
        price="20.00",
        warranty=0,
        compatibility_notes="Redeemable on Steam accounts set to euro.",
        description="Adds 20 EUR to a Steam Wallet.",
    ),
    dict(
        sku="STEAM-50",
        name="Steam Wallet gift card 50 EUR",
        category="gift-cards",
        platform="steam",
        kind="gift_code",
        denomination="50.00",
        denomination_currency="EUR",
        region="EU",
        price="50.00",
        warranty=0,
        compatibility_notes="Redeemable on Steam accounts set to euro.",
        description="Adds 50 EUR to a Steam Wallet.",
    ),
    dict(
        sku="PSN-100-SAR",
        name="PlayStation Store gift card 100 SAR",
        category="gift-cards",
        platform="playstation",
        kind="gift_code",
        denomination="100.00",
        denomination_currency="SAR",
        region="KSA",
        price="24.00",
        warranty=0,
        compatibility_notes="Saudi PlayStation Network accounts only.",
        description="Adds 100 SAR to a Saudi PSN wallet.",
    ),
    dict(
        sku="XBOX-25",
        name="Xbox gift card 25 EUR",
        category="gift-cards",
        platform="xbox",
        kind="gift_code",
        denomination="25.00",
        denomination_currency="EUR",
        region="EU",
        price="25.00",
        warranty=0,
        description="Adds 25 EUR to a Microsoft account.",
    ),
]


# French and Arabic versions of the demo catalog's customer-facing texts (the English
# text above is the source and the fallback). Brand and product names stay as their
# makers write them; what is said about them is translated.
CATEGORY_TRANSLATIONS: dict[str, dict[str, dict[str, str]]] = {
    "operating-systems": {
        "fr": {"name": "Systèmes d'exploitation"},
        "ar": {"name": "أنظمة التشغيل"},
    },
    "office": {
        "fr": {"name": "Suites bureautiques"},
        "ar": {"name": "الحزم المكتبية"},
    },
    "antivirus": {
        "fr": {"name": "Antivirus et sécurité"},
        "ar": {"name": "مكافحة الفيروسات والحماية"},
    },
    "gift-cards": {
        "fr": {"name": "Cartes cadeaux"},
        "ar": {"name": "بطاقات الهدايا"},
    },
}

WIN_REQ_FR = (
    "Processeur 64 bits à 1 GHz, 4 Go de RAM, 64 Go de stockage, TPM 2.0, démarrage sécurisé UEFI."
)
WIN_REQ_AR = (
    "معالج 64 بت بسرعة 1 غيغاهرتز، وذاكرة 4 غيغابايت، وسعة تخزين 64 غيغابايت، "
    "وشريحة TPM 2.0، والإقلاع الآمن UEFI."
)
OFFICE_REQ_FR = "Windows 10 ou 11 ; 4 Go de RAM ; 4 Go d'espace disque libre."
OFFICE_REQ_AR = "ويندوز 10 أو 11؛ ذاكرة 4 غيغابايت؛ مساحة حرة 4 غيغابايت على القرص."
ONE_PC_ONE_YEAR = {"fr": "Un PC, un an.", "ar": "جهاز كمبيوتر واحد لمدة سنة."}
RETAIL_ONE_PC = {
    "fr": "Licence commerciale pour un PC.",
    "ar": "ترخيص تجزئة لجهاز كمبيوتر واحد.",
}
STEAM_EUR_NOTE = {
    "fr": "Utilisable sur les comptes Steam en euros.",
    "ar": "يُستخدم في حسابات Steam المضبوطة على اليورو.",
}

PRODUCT_TRANSLATIONS: dict[str, dict[str, dict[str, str]]] = {
    "WIN11-PRO": {
        "fr": {
            "name": "Windows 11 Professionnel",
            "edition": "11 Professionnel",
            "description": "Licence commerciale pour un PC. Toutes les fonctions de Windows 11 "
            "Professionnel : BitLocker, hôte Bureau à distance, Hyper-V.",
            "system_requirements": WIN_REQ_FR,
            "compatibility_notes": "Met à niveau Windows 11 Famille ou active une installation "
            "neuve de la version Professionnel. Ne fonctionne pas sur les ordinateurs Mac.",
        },
        "ar": {
            "name": "ويندوز 11 برو",
            "edition": "11 برو",
            "description": "ترخيص تجزئة لجهاز كمبيوتر واحد. جميع ميزات ويندوز 11 برو: "
            "BitLocker، واستضافة سطح المكتب البعيد، وHyper-V.",
            "system_requirements": WIN_REQ_AR,
            "compatibility_notes": "يرقّي ويندوز 11 هوم أو يفعّل تثبيتًا جديدًا لنسخة برو. "
            "لا يعمل على أجهزة ماك.",
        },
    },
    "WIN11-HOME": {
        "fr": {
            "name": "Windows 11 Famille",
            "edition": "11 Famille",
            "description": RETAIL_ONE_PC["fr"],
            "system_requirements": WIN_REQ_FR,
            "compatibility_notes": "Active uniquement Windows 11 Famille ; une installation "
            "Professionnel nécessite une clé Professionnel.",
        },
        "ar": {
            "name": "ويندوز 11 هوم",
            "edition": "11 هوم",
            "description": RETAIL_ONE_PC["ar"],
            "system_requirements": WIN_REQ_AR,
            "compatibility_notes": "يفعّل ويندوز 11 هوم فقط؛ تثبيت نسخة برو يحتاج إلى مفتاح برو.",
        },
    },
    "WIN10-PRO": {
        "fr": {
            "name": "Windows 10 Professionnel",
            "edition": "10 Professionnel",
            "description": RETAIL_ONE_PC["fr"],
            "system_requirements": "Processeur 1 GHz, 2 Go de RAM (64 bits), 20 Go de stockage.",
            "compatibility_notes": "Pour Windows 10 Professionnel. Un système Windows 10 "
            "Famille nécessite la clé Famille.",
        },
        "ar": {
            "name": "ويندوز 10 برو",
            "edition": "10 برو",
            "description": RETAIL_ONE_PC["ar"],
            "system_requirements": "معالج بسرعة 1 غيغاهرتز، وذاكرة 2 غيغابايت (64 بت)، "
            "وسعة تخزين 20 غيغابايت.",
            "compatibility_notes": "لنسخة ويندوز 10 برو. نظام ويندوز 10 هوم يحتاج إلى مفتاح هوم.",
        },
    },
    "OFF21-PP": {
        "fr": {
            "name": "Office 2021 Professionnel Plus",
            "edition": "2021 Professionnel Plus",
            "description": "Word, Excel, PowerPoint, Outlook, Access et Publisher pour un PC.",
            "system_requirements": OFFICE_REQ_FR,
            "compatibility_notes": "Windows uniquement. Ne met pas à niveau Office 2021 "
            "Famille et Étudiant.",
        },
        "ar": {
            "name": "أوفيس 2021 بروفيشنال بلس",
            "edition": "2021 بروفيشنال بلس",
            "description": "Word وExcel وPowerPoint وOutlook وAccess وPublisher "
            "لجهاز كمبيوتر واحد.",
            "system_requirements": OFFICE_REQ_AR,
            "compatibility_notes": "لويندوز فقط. لا يرقّي أوفيس 2021 للمنزل والطلاب.",
        },
    },
    "OFF21-HS-MAC": {
        "fr": {
            "name": "Office 2021 Famille et Étudiant pour Mac",
            "edition": "2021 Famille et Étudiant",
            "description": "Word, Excel et PowerPoint pour un Mac.",
            "system_requirements": "macOS, l'une des trois versions les plus récentes.",
            "compatibility_notes": "Mac uniquement.",
        },
        "ar": {
            "name": "أوفيس 2021 للمنزل والطلاب لأجهزة ماك",
            "edition": "2021 للمنزل والطلاب",
            "description": "Word وExcel وPowerPoint لجهاز ماك واحد.",
            "system_requirements": "macOS، أحد الإصدارات الثلاثة الأحدث.",
            "compatibility_notes": "لأجهزة ماك فقط.",
        },
    },
    "NORTON-360-1Y": {
        "fr": {
            "name": "Norton 360 Deluxe, 1 an, 3 appareils",
            "edition": "Deluxe 2026",
            "description": "Antivirus, VPN et gestionnaire de mots de passe pour trois "
            "appareils, pendant un an.",
            "system_requirements": "Windows 10/11, macOS 13+, Android 8+, iOS 16+.",
            "compatibility_notes": "Essayez d'abord la version d'essai gratuite de l'éditeur "
            "pour vérifier la compatibilité.",
        },
        "ar": {
            "name": "نورتن 360 ديلوكس، سنة واحدة، 3 أجهزة",
            "edition": "ديلوكس 2026",
            "description": "مكافحة فيروسات وشبكة VPN ومدير كلمات مرور لثلاثة أجهزة لمدة سنة.",
            "system_requirements": "Windows 10/11، macOS 13+، Android 8+، iOS 16+.",
            "compatibility_notes": "جرّب النسخة التجريبية المجانية من الشركة المصنّعة أولًا "
            "للتأكد من التوافق.",
        },
    },
    "QH-TS-1Y": {
        "fr": {
            "name": "Quick Heal Total Security, 1 an",
            "description": ONE_PC_ONE_YEAR["fr"],
            "system_requirements": "Windows 10/11, 2 Go de RAM.",
            "compatibility_notes": "Total Security, et non Internet Security : vérifiez "
            "la version dont vous avez besoin.",
        },
        "ar": {
            "name": "كويك هيل توتال سكيوريتي، سنة واحدة",
            "description": ONE_PC_ONE_YEAR["ar"],
            "system_requirements": "Windows 10/11، ذاكرة 2 غيغابايت.",
            "compatibility_notes": "هذه نسخة Total Security وليست Internet Security: "
            "تحقّق من النسخة التي تحتاجها.",
        },
    },
    "K7-AV-1Y": {
        "fr": {
            "name": "K7 Antivirus Premium, 1 an",
            "description": ONE_PC_ONE_YEAR["fr"],
        },
        "ar": {
            "name": "K7 أنتي فايروس بريميوم، سنة واحدة",
            "description": ONE_PC_ONE_YEAR["ar"],
        },
    },
    "STEAM-20": {
        "fr": {
            "name": "Carte cadeau Steam 20 EUR",
            "description": "Ajoute 20 EUR à un porte-monnaie Steam.",
            "compatibility_notes": STEAM_EUR_NOTE["fr"],
        },
        "ar": {
            "name": "بطاقة هدايا Steam بقيمة 20 يورو",
            "description": "تضيف 20 يورو إلى محفظة Steam.",
            "compatibility_notes": STEAM_EUR_NOTE["ar"],
        },
    },
    "STEAM-50": {
        "fr": {
            "name": "Carte cadeau Steam 50 EUR",
            "description": "Ajoute 50 EUR à un porte-monnaie Steam.",
            "compatibility_notes": STEAM_EUR_NOTE["fr"],
        },
        "ar": {
            "name": "بطاقة هدايا Steam بقيمة 50 يورو",
            "description": "تضيف 50 يورو إلى محفظة Steam.",
            "compatibility_notes": STEAM_EUR_NOTE["ar"],
        },
    },
    "PSN-100-SAR": {
        "fr": {
            "name": "Carte cadeau PlayStation Store 100 SAR",
            "description": "Ajoute 100 SAR à un porte-monnaie PSN saoudien.",
            "compatibility_notes": "Comptes PlayStation Network saoudiens uniquement.",
        },
        "ar": {
            "name": "بطاقة هدايا متجر PlayStation بقيمة 100 ريال",
            "description": "تضيف 100 ريال سعودي إلى محفظة PSN سعودية.",
            "compatibility_notes": "لحسابات PlayStation Network السعودية فقط.",
        },
    },
    "XBOX-25": {
        "fr": {
            "name": "Carte cadeau Xbox 25 EUR",
            "description": "Ajoute 25 EUR à un compte Microsoft.",
        },
        "ar": {
            "name": "بطاقة هدايا Xbox بقيمة 25 يورو",
            "description": "تضيف 25 يورو إلى حساب Microsoft.",
        },
    },
}

PRODUCT_TEXT_FIELDS = (
    "name",
    "edition",
    "description",
    "system_requirements",
    "compatibility_notes",
)


def _translated_columns(source: dict[str, str], translations: dict[str, dict[str, str]]) -> dict:
    """``{"name_en": ..., "name_fr": ..., ...}``: English from the source, the others from
    ``translations`` (empty when not translated: the page then falls back to English)."""
    columns = {f"{field}_en": value for field, value in source.items()}
    for language in ("fr", "ar"):
        texts = translations.get(language, {})
        columns.update({f"{field}_{language}": texts.get(field, "") for field in source})
    return columns


def category_defaults(slug: str, *, name: str, position: int) -> dict:
    return {
        "name": name,
        "position": position,
        **_translated_columns({"name": name}, CATEGORY_TRANSLATIONS.get(slug, {})),
    }


def product_defaults(spec: dict, *, category) -> dict:
    texts = {field: spec.get(field, "") for field in PRODUCT_TEXT_FIELDS}
    return {
        "category": category,
        **texts,
        **_translated_columns(texts, PRODUCT_TRANSLATIONS.get(spec["sku"], {})),
        "slug": slugify(spec["name"]),
        "kind": spec.get("kind", "license_key"),
        "platform": spec["platform"],
        "region": spec.get("region", "Global"),
        "denomination": Decimal(spec["denomination"]) if spec.get("denomination") else None,
        "denomination_currency": spec.get("denomination_currency", ""),
        "manufacturer_warranty_months": spec.get("warranty", 0),
        "key_format": spec.get("key_format", ""),
        "price": Decimal(spec["price"]),
        "currency": "EUR",
        "is_active": True,
    }

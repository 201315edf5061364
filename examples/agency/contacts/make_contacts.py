"""Regenerate downtown.csv: 200 deterministic, realistic seed contacts.

Run once from this directory (``python make_contacts.py``); the CSV is committed. Emails
are on example.com / example.org, phones are valid US numbers in the 555-01xx range
reserved for fiction.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from pathlib import Path

FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "Mateo",
    "Isabella",
    "Lucas",
    "Mia",
    "Amara",
    "Hiro",
    "Priya",
    "Kwame",
    "Sofia",
    "Diego",
    "Chloe",
    "Yusuf",
    "Hannah",
    "Ravi",
    "Lena",
    "Tomás",
    "Grace",
    "Omar",
    "Zoe",
    "Ines",
    "Jonah",
]
LAST = [
    "Smith",
    "Johnson",
    "Garcia",
    "Nguyen",
    "Patel",
    "Kim",
    "Okafor",
    "Rossi",
    "Müller",
    "Silva",
    "Brown",
    "Davis",
    "Lopez",
    "Haddad",
    "Tanaka",
    "Novak",
    "Cohen",
    "Walker",
    "Reyes",
    "Andersen",
    "Mensah",
    "Dubois",
    "Khan",
    "Murphy",
]
CITIES = [
    ("Chicago", "IL", "60601"),
    ("Evanston", "IL", "60201"),
    ("Oak Park", "IL", "60302"),
]
AREA_CODES = ["312", "773"]
INTERESTS = ["yoga", "spin", "swimming", "weights"]
MEMBERSHIP = ["bronze", "silver", "gold"]


def _ascii(text: str) -> str:
    """``Müller`` -> ``muller``: email local parts stay plain ASCII."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def rows(count: int = 200) -> list[dict[str, str]]:
    rng = random.Random(20240601)
    result = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, state, postal = rng.choice(CITIES)
        domain = "example.com" if n % 3 else "example.org"
        interests = sorted(rng.sample(INTERESTS, rng.randint(0, 2)))
        tags = ["member"] + (["vip"] if n % 10 == 0 else [])
        result.append(
            {
                "firstName": first,
                "lastName": last,
                "email": f"{_ascii(first)}.{_ascii(last)}{n:03d}@{domain}",
                "phone": f"+1 {AREA_CODES[n % 2]}-555-{100 + n // 2:04d}",
                "city": city,
                "state": state,
                "postalCode": postal,
                "tags": ";".join(tags),
                "customFields.membership": rng.choice(MEMBERSHIP),
                "customFields.interests": ";".join(interests),
            }
        )
    return result


def main() -> None:
    data = rows()
    target = Path(__file__).with_name("downtown.csv")
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(data[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)


if __name__ == "__main__":
    main()

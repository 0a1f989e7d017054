"""A small gazetteer for Nearby: the places a profile's free-text location usually names (Malaysia's cities and
state capitals, and the cities of the demo's Chinese-speaking readers), with their centre and the names a note's
location tag may use for them — in English, Malay and Chinese, and their well-known districts.

Nearby without the browser's position starts from the profile's place. Matching that text against the notes'
location tags alone found nothing for "Kuala Lumpur" when notes are tagged "Bukit Bintang" or "吉隆坡", so the
page said "set your location" to someone who had. A known place widens the match to its other names and to the
notes whose coordinates lie around its centre. Coordinates are rounded to 2 decimals (≈ 1 km), as notes store
them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    lat: float
    lng: float
    names: tuple[str, ...]  # other names and districts, matched inside a note's location tag
    short: tuple[str, ...] = ()  # abbreviations: only a profile saying exactly this names the place


PLACES: tuple[Place, ...] = (
    Place(
        "Kuala Lumpur",
        3.14,
        101.69,
        (
            "吉隆坡",
            "Bukit Bintang",
            "Bangsar",
            "KLCC",
            "Cheras",
            "Mont Kiara",
            "Brickfields",
            "Chow Kit",
            "Kepong",
            "Sentul",
            "Wilayah Persekutuan",
        ),
        ("KL",),
    ),
    Place(
        "Petaling Jaya", 3.11, 101.61, ("八打灵再也", "八打靈再也", "Damansara", "Kota Damansara"), ("PJ",)
    ),
    Place("Shah Alam", 3.07, 101.52, ("莎阿南",)),
    Place("Subang Jaya", 3.05, 101.58, ("梳邦再也", "Subang", "Sunway")),
    Place("Putrajaya", 2.93, 101.69, ("布城",)),
    Place("Penang", 5.41, 100.33, ("Pulau Pinang", "George Town", "Georgetown", "槟城", "檳城")),
    Place("Johor Bahru", 1.49, 103.74, ("新山", "Johor Baru"), ("JB",)),
    Place("Ipoh", 4.60, 101.08, ("怡保",)),
    Place("Melaka", 2.19, 102.25, ("Malacca", "马六甲", "馬六甲")),
    Place("Kota Kinabalu", 5.98, 116.07, ("亚庇", "亞庇"), ("KK",)),
    Place("Kuching", 1.55, 110.34, ("古晋", "古晉")),
    Place("Seremban", 2.73, 101.94, ("芙蓉",)),
    Place("Kuantan", 3.81, 103.33, ("关丹", "關丹")),
    Place("Alor Setar", 6.12, 100.37, ("亚罗士打", "亞羅士打", "Alor Star")),
    Place("Kota Bharu", 6.13, 102.24, ("哥打巴鲁", "哥打巴魯")),
    Place("Kuala Terengganu", 5.33, 103.14, ("瓜拉登嘉楼", "瓜拉登嘉樓")),
    Place("Singapore", 1.29, 103.85, ("新加坡", "Singapura")),
    Place("上海", 31.23, 121.47, ("Shanghai",)),
    Place("北京", 39.90, 116.41, ("Beijing",)),
    Place("广州", 23.13, 113.26, ("廣州", "Guangzhou")),
    Place("深圳", 22.54, 114.06, ("Shenzhen",)),
    Place("台北", 25.03, 121.57, ("臺北", "Taipei")),
    Place("香港", 22.32, 114.17, ("Hong Kong",)),
)


def place_find(text: str) -> Place | None:
    """The known place a profile's location names — exactly ("KL", "吉隆坡") or inside a longer text
    ("Bangsar, Kuala Lumpur"); the longest name found wins. ``None`` for a place the table does not know."""
    folded = " ".join((text or "").split()).casefold()
    if not folded:
        return None
    best: tuple[int, Place] | None = None
    for place in PLACES:
        if folded in (s.casefold() for s in place.short):
            return place
        for name in (place.name, *place.names):
            key = name.casefold()
            if key in folded and (best is None or len(key) > best[0]):
                best = (len(key), place)
    return best[1] if best else None

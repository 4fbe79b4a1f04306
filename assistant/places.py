"""Places in Hong Kong: the 18 districts and the areas people name instead of them.

People asked "which office?" answer with where they live: 藍田, "near Tai Wai", 銅鑼灣. This
module knows which district each common area is in, in English and Chinese, so a choice whose
options are places (the district offices) can be answered by place. An area in a district
that is not offered is not the nearest office guessed: the caller asks again.

Pure data and pure functions: no I/O, no state, no knowledge of procedures or channels. The
area lists are the common names of estates, towns and MTR stations, not a gazetteer; an area
that straddles two districts is left out rather than put in one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .understanding import strip_punct


@dataclass(frozen=True)
class District:
    id: str
    en: str
    zh: str
    #: areas in the district, (English, Chinese); either may be empty
    areas: tuple[tuple[str, str], ...]

    def name(self, locale: str) -> str:
        """The district's name in ``locale`` (Chinese for any Chinese locale)."""
        return self.en if locale == "en" else self.zh


_DATA: tuple[tuple[str, str, str, str], ...] = (
    ("central_and_western", "Central and Western", "中西區",
     "Central:中環, Sheung Wan:上環, Sai Wan:西環, Sai Ying Pun:西營盤, Kennedy Town:堅尼地城, "
     "Shek Tong Tsui:石塘咀, Mid-Levels:半山, The Peak:山頂, Admiralty:金鐘, Central and Western:中西區, "
     "HKU:香港大學"),
    ("wan_chai", "Wan Chai", "灣仔",
     "Causeway Bay:銅鑼灣, Happy Valley:跑馬地, Tai Hang:大坑, So Kon Po:掃桿埔, "
     "Jardine's Lookout:渣甸山, Wan Chai:灣仔, Wanchai:, CWB:, Morrison Hill:摩理臣山, "
     "Stubbs Road:司徒拔道"),
    ("eastern", "Eastern", "東區",
     "North Point:北角, Quarry Bay:鰂魚涌, Tai Koo:太古, Taikoo Shing:太古城, Sai Wan Ho:西灣河, "
     "Shau Kei Wan:筲箕灣, Chai Wan:柴灣, Siu Sai Wan:小西灣, Heng Fa Chuen:杏花邨, "
     "Fortress Hill:炮台山, Braemar Hill:寶馬山, Eastern District:東區"),
    ("southern", "Southern", "南區",
     "Aberdeen:香港仔, Ap Lei Chau:鴨脷洲, Wong Chuk Hang:黃竹坑, Stanley:赤柱, "
     "Repulse Bay:淺水灣, Pok Fu Lam:薄扶林, Pokfulam:, Wah Fu:華富, Tin Wan:田灣, Shek O:石澳, "
     "Deep Water Bay:深水灣, Cyberport:數碼港, South Horizons:海怡半島, Southern District:南區"),
    ("yau_tsim_mong", "Yau Tsim Mong", "油尖旺",
     "Yau Ma Tei:油麻地, Tsim Sha Tsui:尖沙咀, TST:, Mong Kok:旺角, Mongkok:, Jordan:佐敦, "
     "Tai Kok Tsui:大角咀, Olympic:奧運, King's Park:京士柏, Austin:柯士甸, Yau Tsim Mong:油尖旺"),
    ("sham_shui_po", "Sham Shui Po", "深水埗",
     "Sham Shui Po:深水埗, SSP:, Cheung Sha Wan:長沙灣, Lai Chi Kok:荔枝角, Mei Foo:美孚, "
     "Shek Kip Mei:石硤尾, Nam Cheong:南昌, Yau Yat Chuen:又一村, So Uk:蘇屋, Pak Tin:白田, "
     "Lei Cheng Uk:李鄭屋, Un Chau:元州, Fu Cheong:富昌, Hoi Lai:海麗"),
    ("kowloon_city", "Kowloon City", "九龍城",
     "Kowloon City:九龍城, Hung Hom:紅磡, To Kwa Wan:土瓜灣, Ho Man Tin:何文田, Kowloon Tong:九龍塘, "
     "Kai Tak:啟德, Whampoa:黃埔, Ma Tau Wai:馬頭圍, Kowloon Tsai:九龍仔, Oi Man:愛民, "
     "Sung Wong Toi:宋皇臺"),
    ("wong_tai_sin", "Wong Tai Sin", "黃大仙",
     "Wong Tai Sin:黃大仙, Diamond Hill:鑽石山, Tsz Wan Shan:慈雲山, San Po Kong:新蒲崗, "
     "Lok Fu:樂富, Choi Hung:彩虹, Wang Tau Hom:橫頭磡, Chuk Yuen:竹園, Tung Tau:東頭, "
     "Ngau Chi Wan:牛池灣, Fu Shan:富山, Choi Wan:彩雲"),
    ("kwun_tong", "Kwun Tong", "觀塘",
     "Kwun Tong:觀塘, Lam Tin:藍田, Ngau Tau Kok:牛頭角, Kowloon Bay:九龍灣, Yau Tong:油塘, "
     "Sau Mau Ping:秀茂坪, Shun Lee:順利, Lei Yue Mun:鯉魚門, Tsui Ping:翠屏, Shun Tin:順天, "
     "On Tai:安泰, Ping Shek:坪石, Kwong Tin:廣田, Amoy Gardens:淘大"),
    ("kwai_tsing", "Kwai Tsing", "葵青",
     "Kwai Chung:葵涌, Tsing Yi:青衣, Kwai Fong:葵芳, Kwai Hing:葵興, Lai King:荔景, "
     "Tai Wo Hau:大窩口, Shek Lei:石籬, Cheung Ching:長青, Kwai Tsing:葵青, Lai Yiu:麗瑤"),
    ("tsuen_wan", "Tsuen Wan", "荃灣",
     "Tsuen Wan:荃灣, Sham Tseng:深井, Ma Wan:馬灣, Lei Muk Shue:梨木樹, Ting Kau:汀九, "
     "Allway Gardens:荃威, Shek Wai Kok:石圍角, Cheung Shan:象山, Tsuen King Circuit:荃景圍"),
    ("tuen_mun", "Tuen Mun", "屯門",
     "Tuen Mun:屯門, Siu Hong:兆康, Butterfly Estate:蝴蝶邨, Tai Hing:大興, Leung King:良景, "
     "San Hui:新墟, So Kwun Wat:掃管笏, Yau Oi:友愛, Tai Lam:大欖, Sam Shing:三聖, Castle Peak:青山, "
     "Tin King:田景, Po Tong Ha:寶塘下"),
    ("yuen_long", "Yuen Long", "元朗",
     "Yuen Long:元朗, Tin Shui Wai:天水圍, TSW:, Hung Shui Kiu:洪水橋, Kam Tin:錦田, "
     "Pat Heung:八鄉, Ha Tsuen:廈村, Lau Fau Shan:流浮山, San Tin:新田, Long Ping:朗屏, "
     "Tin Yiu:天耀, Tin Heng:天恒, Shap Pat Heung:十八鄉, Kam Sheung Road:錦上路"),
    ("north", "North", "北區",
     "Sheung Shui:上水, Fanling:粉嶺, Sha Tau Kok:沙頭角, Ta Kwu Ling:打鼓嶺, "
     "Lok Ma Chau:落馬洲, Luen Wo Hui:聯和墟, Kwu Tung:古洞, Ching Ho:清河, Wah Ming:華明, "
     "North District:北區"),
    ("tai_po", "Tai Po", "大埔",
     "Tai Po:大埔, Tai Wo:太和, Tai Po Market:大埔墟, Lam Tsuen:林村, Ting Kok:汀角, "
     "Tai Po Kau:大埔滘, Hong Lok Yuen:康樂園, Fu Heng:富亨, Kwong Fuk:廣福, Tai Yuen:大元, "
     "Chung Nga:頌雅"),
    ("sha_tin", "Sha Tin", "沙田",
     "Sha Tin:沙田, Shatin:, Tai Wai:大圍, Ma On Shan:馬鞍山, MOS:, Fo Tan:火炭, Shek Mun:石門, "
     "Siu Lek Yuen:小瀝源, Wu Kai Sha:烏溪沙, City One:第一城, Lek Yuen:瀝源, Wo Che:禾輋, "
     "Sun Chui:新翠, Hin Keng:顯徑, Tai Shui Hang:大水坑, Heng On:恆安, Kwong Yuen:廣源, "
     "Sui Wo:穗禾, Chun Yeung:駿洋, Mei Lam:美林, Lung Hang:隆亨, Chui Tin:翠田"),
    ("sai_kung", "Sai Kung", "西貢",
     "Sai Kung:西貢, Tseung Kwan O:將軍澳, TKO:, Hang Hau:坑口, Po Lam:寶琳, "
     "Tiu Keng Leng:調景嶺, LOHAS Park:日出康城, Clear Water Bay:清水灣, Tsui Lam:翠林, "
     "Po Tat:寶達, King Lam:景林, Sheung Tak:尚德, Kin Ming:健明"),
    ("islands", "Islands", "離島",
     "Lantau:大嶼山, Tung Chung:東涌, Cheung Chau:長洲, Lamma:南丫島, Peng Chau:坪洲, Mui Wo:梅窩, "
     "Tai O:大澳, Discovery Bay:愉景灣, Islands District:離島區, Yat Tung:逸東"),
)


def _parse(areas: str, en: str, zh: str) -> tuple[tuple[str, str], ...]:
    pairs = [(en, zh)]
    for item in areas.split(", "):
        name_en, _, name_zh = item.partition(":")
        pairs.append((name_en.strip(), name_zh.strip()))
    return tuple(pairs)


DISTRICTS: dict[str, District] = {
    did: District(did, en, zh, _parse(areas, en, zh)) for did, en, zh, areas in _DATA}


@lru_cache(maxsize=1)
def _place_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every place name, longest first at each position (九龍城 before 九龍,
    大埔滘 before 大埔), and the district of each name written without spaces."""
    names: dict[str, str] = {}
    for district in DISTRICTS.values():
        for en, zh in district.areas:
            for name in (en, zh):
                key = strip_punct(name)
                if key:
                    names.setdefault(key, district.id)
    alternatives = []
    for key in sorted(names, key=len, reverse=True):
        if key.isascii():
            # spaces are optional ("shatin", "mongkok"); whole words only ("tst" not in "test")
            body = r"\s*".join(re.escape(w) for w in key.split())
            alternatives.append(rf"(?<![a-z]){body}(?![a-z])")
        else:
            alternatives.append(re.escape(key.replace(" ", "")))
    lookup = {key.replace(" ", ""): did for key, did in names.items()}
    return re.compile("|".join(alternatives)), lookup


def districts_named(text: str) -> list[str]:
    """The districts of the places named in ``text``, in the order they are first named."""
    return list(_districts_named(text))


@lru_cache(maxsize=4096)     # options' phrases are read again on every turn at their question
def _districts_named(text: str) -> tuple[str, ...]:
    plain = strip_punct(text)
    squeezed = re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", plain)
    pattern, lookup = _place_pattern()
    found = (lookup.get(re.sub(r"\s+", "", m.group())) for m in pattern.finditer(squeezed))
    return tuple(dict.fromkeys(did for did in found if did))


def option_districts(choices: list[tuple[str, list[str]]]) -> dict[str, str]:
    """For choices that are places: each option's value and the one district it names."""
    return dict(_option_districts(tuple((value, tuple(phrases)) for value, phrases in choices)))


@lru_cache(maxsize=512)
def _option_districts(choices: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple:
    out = {}
    for value, phrases in choices:
        named = {did for p in phrases for did in _districts_named(p)}
        if len(named) == 1:
            out[value] = named.pop()
    return tuple(out.items()) if len(out) >= 2 else ()


@dataclass(frozen=True)
class PlaceAnswer:
    """A place given as the answer to a choice of places: the option it falls in (None when
    its district is not offered) and the district named."""

    value: str | None
    district: str


def match_place(text: str, choices: list[tuple[str, list[str]]]) -> PlaceAnswer | None:
    """The option of a choice of places that ``text`` names by place (藍田 -> Kwun Tong).

    ``None`` when the options are not places, or the text names no known place or places in
    more than one district. A place in a district not offered gives a ``PlaceAnswer`` whose
    value is ``None``: the caller asks again, saying so, rather than picking the nearest."""
    offered = option_districts(choices)
    if not offered:
        return None
    named = districts_named(text)
    if len(named) != 1:
        return None
    district = named[0]
    values = [value for value, did in offered.items() if did == district]
    return PlaceAnswer(values[0] if len(values) == 1 else None, district)


# Beyond Hong Kong: where people say they live or go (a question of where, not which office).
# A city counts for its province or country; "US" is left out ("us" is a word).
_REGION_DATA: tuple[tuple[str, str, str], ...] = (
    ("guangdong", "Guangdong:廣東, Canton:",
     "Shenzhen:深圳, Guangzhou:廣州, Dongguan:東莞, Zhuhai:珠海, Foshan:佛山, Zhongshan:中山, "
     "Jiangmen:江門, Huizhou:惠州, Shantou:汕頭, Chaozhou:潮州, Meizhou:梅州, Zhaoqing:肇慶, "
     "Shunde:順德, Taishan:台山, Kaiping:開平, Panyu:番禺, Zhanjiang:湛江, Shaoguan:韶關"),
    ("fujian", "Fujian:福建",
     "Xiamen:廈門, Fuzhou:福州, Quanzhou:泉州, Zhangzhou:漳州, Putian:莆田, Jinjiang:晉江, "
     "Shishi:石獅, Longyan:龍岩"),
    ("macau", "Macau:澳門, Macao:", ""),
    ("taiwan", "Taiwan:台灣, :臺灣", "Taipei:台北, Kaohsiung:高雄"),
    ("mainland", "",
     "Shanghai:上海, Beijing:北京, Guangxi:廣西, Hunan:湖南, Jiangxi:江西, Zhejiang:浙江, "
     "Hangzhou:杭州, Hainan:海南, Sichuan:四川, Wuhan:武漢, Tianjin:天津, Nanjing:南京, "
     "Jiangsu:江蘇, Shandong:山東, Chongqing:重慶"),
    ("overseas", "",
     "Canada:加拿大, Australia:澳洲, UK:英國, England:, Britain:, London:倫敦, America:美國, "
     "USA:, United States:, Singapore:新加坡, Malaysia:馬來西亞, Thailand:泰國, Japan:日本, "
     "Korea:韓國, Philippines:菲律賓, Indonesia:印尼, Vietnam:越南, New Zealand:紐西蘭, "
     "Toronto:多倫多, Vancouver:溫哥華, Sydney:悉尼, Melbourne:墨爾本, Europe:歐洲"),
)
_HONG_KONG = "hong_kong"
_ELSEWHERE = re.compile(r"\b(?:else|elsewhere|other|abroad|overseas)\b|其他|第二度|外國|海外|別處")


@lru_cache(maxsize=1)
def _region_names() -> tuple[tuple[re.Pattern[str], str, bool], ...]:
    """(pattern, region, is the region's own name) for every region and city, longest first."""
    names: dict[str, tuple[str, bool]] = {"hong kong": (_HONG_KONG, True), "香港": (_HONG_KONG, True),
                                          "hk": (_HONG_KONG, True), "本港": (_HONG_KONG, True)}
    for rid, own, cities in _REGION_DATA:
        for items, is_own in ((own, True), (cities, False)):
            for item in filter(None, items.split(", ")):
                for name in item.split(":"):
                    key = strip_punct(name)
                    if key:
                        names.setdefault(key, (rid, is_own))
    return tuple(
        (re.compile(rf"(?<![a-z]){re.escape(k)}(?![a-z])" if k.isascii() else re.escape(k)),
         *names[k]) for k in sorted(names, key=len, reverse=True))


def _regions_in(text: str, own_only: bool = False) -> set[str]:
    return set(_regions_named(text, own_only))


@lru_cache(maxsize=4096)
def _regions_named(text: str, own_only: bool) -> frozenset[str]:
    plain = strip_punct(text)
    found = set()
    for pattern, rid, is_own in _region_names():
        if (is_own or not own_only) and pattern.search(plain):
            found.add(rid)
            plain = pattern.sub(" ", plain)
    return frozenset(found)


def match_region(text: str, choices: list[tuple[str, list[str]]]) -> str | None:
    """The option of a question of where (Hong Kong, Guangdong or Fujian, somewhere else) that
    ``text`` names by a city or a country: 東莞 is Guangdong, 澳門 and "Canada" are somewhere else,
    a district of Hong Kong is Hong Kong. ``None`` when the options are not regions (a choice of
    offices is ``match_place``'s), or the text names no region, or more than one."""
    if option_districts(choices):
        return None
    named = _regions_in(text) | ({_HONG_KONG} if districts_named(text) else set())
    if len(named) != 1:
        return None
    region = named.pop()
    by_option = {value: _regions_in(" ".join(phrases), own_only=True)
                 for value, phrases in choices}
    if not any(by_option.values()):
        return None
    holding = [value for value, regions in by_option.items() if region in regions]
    if len(holding) == 1:
        return holding[0]
    if holding or region == _HONG_KONG:
        return None
    elsewhere = [value for value, phrases in choices
                 if any(_ELSEWHERE.search(strip_punct(p)) for p in phrases)]
    return elsewhere[0] if len(elsewhere) == 1 else None

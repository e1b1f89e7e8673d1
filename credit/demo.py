"""Synthetic demo data for the Zhoucun district (淄博市周村区, division code 370306).

Everything here is invented: legal persons with their registration data and credit records,
and natural persons with their (valid but fictitious) identity numbers and judicial, tax and
social insurance records. Nothing touches a database; the functions only build plain dicts.

The output is a pure function of (seed, index, as_of): entity ``i`` draws from its own random
stream seeded with ``f"{seed}:e:{i}"`` (its records from ``f"{seed}:er:{i}"``; how many there
are, and the entity's line of business, come from digits of its subject id), so any slice of a
million entities can be generated alone, in any order, in parallel, with the same result.
Unified social credit codes and identity numbers encode the index injectively, so they never
collide; record document numbers encode (index, record position) and never collide either.

The ``random`` module is used on purpose (ruff S311 is ignored for it): this is synthetic demo
data, never anything secret. Only ``Random.random`` is called, whose output for a given seed is
stable across Python versions.
"""

# Chinese text counts double width, and the data tables below have long unsplittable strings.
# ruff: noqa: E501

from __future__ import annotations

import hashlib
import random
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from itertools import accumulate
from math import gcd
from typing import Generic, Literal, NamedTuple, TypedDict, TypeVar

from credit.identifiers import USCC_ALPHABET, make_id_number, make_uscc

__all__ = [
    "DEFAULT_SEED",
    "DIVISION_CODE",
    "MAX_ENTITIES",
    "MAX_PERSONS",
    "DemoEntity",
    "DemoPerson",
    "DemoRecord",
    "Details",
    "EntityKind",
    "EntityStatus",
    "RecordKind",
    "entities",
    "entity",
    "entity_records",
    "person",
    "person_records",
    "persons",
]

DIVISION_CODE = "370306"
DEFAULT_SEED = 370306

EntityKind = Literal[
    "enterprise",
    "individual_business",
    "social_organization",
    "public_institution",
    "government_agency",
]
EntityStatus = Literal["active", "revoked", "cancelled"]
RecordKind = Literal[
    "license",
    "penalty",
    "red_list",
    "black_list",
    "abnormal_operation",
    "tax_rating",
    "tax_violation",
    "court_enforcement",
    "dishonest_debtor",
    "social_insurance_arrears",
]
# JSON-serializable: dates as ISO strings, amounts as yuan strings with two decimals.
Details = dict[str, str | int | None]


class DemoEntity(TypedDict):
    """A legal person (enterprise, individual business, organisation, institution or agency)."""

    subject_id: str
    kind: EntityKind
    uscc: str
    name: str
    legal_representative: str
    established_on: date
    registered_capital: str | None
    address: str
    registration_authority: str
    status: EntityStatus
    business_scope: str
    contact_phone: str


class DemoPerson(TypedDict):
    """A natural person."""

    subject_id: str
    name: str
    id_number: str


class DemoRecord(TypedDict):
    """One credit record about one subject."""

    record_id: str
    kind: RecordKind
    document_no: str
    title: str
    decided_on: date
    department: str
    details: Details


T = TypeVar("T")
_Rand = Callable[[], float]


class _Weighted(Generic[T]):
    """Items drawn with fixed relative weights from one uniform number."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        if not pairs or any(weight <= 0 for _, weight in pairs):
            raise ValueError("weights must be positive")
        self.items: tuple[T, ...] = tuple(item for item, _ in pairs)
        self.cum: tuple[float, ...] = tuple(accumulate(weight for _, weight in pairs))
        self.total: float = self.cum[-1]

    # bisect_left: item k covers (cum[k-1], cum[k]], so a product rounded up to the total
    # still lands on the last item, and 0 on the first (no weight is zero).
    def at(self, u: float) -> T:
        """The item at quantile u (0 <= u < 1)."""
        return self.items[bisect_left(self.cum, u * self.total)]

    def pick(self, r: _Rand) -> T:
        """A weighted draw."""
        return self.items[bisect_left(self.cum, r() * self.total)]


def _pick(r: _Rand, seq: Sequence[T]) -> T:
    return seq[int(r() * len(seq))]


def _unique(chars: str) -> str:
    return "".join(dict.fromkeys(chars.replace(" ", "").replace("\n", "")))


# --------------------------------------------------------------------------------------------
# Places, departments, people
# --------------------------------------------------------------------------------------------

CITY = "淄博市"
DISTRICT = "周村区"
FULL_DISTRICT = "淄博市周村区"
ADDRESS_PREFIX = "山东省淄博市周村区"

SUBDISTRICTS = ("丝绸路街道", "大街街道", "青年路街道", "永安街道", "城北路街道")
TOWNS = ("北郊镇", "南郊镇", "王村镇", "萌水镇")
ROADS = (
    "正阳路", "新建中路", "新建东路", "新建西路", "周隆路", "东门路", "棉麻路", "丝绸路",
    "青年路", "大街", "丝市街", "银子市街",
)  # fmt: skip
OLD_STREETS = ("丝市街", "大街", "银子市街")  # the old commercial town (周村古商城)
# Addresses in the towns use generic street names: a town's own streets are not listed here.
TOWN_STREETS = ("中心街", "府前街", "工业路", "商业街", "兴业路", "文化路")
# Where institutions of a kind are: township hospitals in towns, community ones in subdistricts.
PLACES = {
    "卫生院": TOWNS,
    "农业综合服务中心": TOWNS,
    "社区卫生服务中心": SUBDISTRICTS,
    "便民服务中心": TOWNS + SUBDISTRICTS,
    "退役军人服务站": TOWNS + SUBDISTRICTS,
    "综合执法中队": TOWNS + SUBDISTRICTS,
    "中心小学": TOWNS + SUBDISTRICTS,
}

MARKET = "淄博市周村区市场监督管理局"
ENVIRONMENT = "淄博市生态环境局周村分局"
TAX = "国家税务总局淄博市周村区税务局"
COURT = "淄博市周村区人民法院"
CITY_COURT = "淄博市中级人民法院"
HRSS = "淄博市周村区人力资源和社会保障局"
MEDICAL_SECURITY = "淄博市周村区医疗保障局"
APPROVAL = "淄博市周村区行政审批服务局"
EMERGENCY = "淄博市周村区应急管理局"
FIRE = "淄博市周村区消防救援大队"
DEVELOPMENT = "淄博市周村区发展和改革局"
CIVIL_AFFAIRS = "淄博市周村区民政局"
STAFFING = "淄博市周村区委机构编制委员会办公室"
TOBACCO = "淄博市周村区烟草专卖局"

SURNAMES = _Weighted(
    [
        (s, w)
        for w, group in (
            (9.0, "王张李刘"),
            (4.0, "陈杨赵孙徐马"),
            (2.5, "高于董周吴朱宋韩郭孟"),
            (1.5, "黄胡林何曹魏袁田任石翟毕蒲丁崔姜冯齐"),
            (0.8, "罗梁郑谢唐萧程许邓傅沈彭吕苏卢蒋蔡贾薛叶阎潘杜戴夏钟汪"),
            (0.5, "范方姚谭邹熊金陆郝孔白康毛秦江史顾侯邵龙段雷钱尹常武乔贺文"),
        )
        for s in group
    ]
)
MALE_GIVEN = _unique(
    "伟强军勇杰涛明超磊刚平辉鹏华飞建国庆志海波东峰斌亮宇浩凯鑫俊帅晨阳博文振洪德林成新"
    "春胜利坤刚民兵永健广福学祥瑞泽宁睿翔宏彬昊然鸿晓锋嘉"
)
FEMALE_GIVEN = _unique(
    "芳娜敏静丽艳娟霞燕玲桂英红梅琳婷雪慧倩颖洁萍莉蕾璐晶欣怡佳悦婉秀兰凤琴云丹萱涵瑶"
    "月雅宁爱荣翠玉珍秋菲彤晴"
)

# Characters of trade names (字号): two of them make a name, so there are tens of thousands.
TRADE_CHARS = _unique(
    """鑫瑞恒泰丰华宏远聚盛祥润德嘉信诚达通利源金银宝隆昌兴旺福顺安康宁和美佳益永正新明光
    辉耀星辰海洋江河山峰岳林森松柏竹梅兰菊荷春秋东南中天宇乾坤博文雅睿智慧思航鹏飞翔腾
    龙凤麟鹤鸿雁骏驰豪杰英贤俊卓越凯胜捷迅力强刚坚固建立成功业创拓展进升高尚上品优良精工
    匠艺技科研锐锋钢铁铜锦绣丝绸彩虹霞云雨霖泉溪涛澜汇融合众群联盟协同友邦家园乡城邑鲁齐
    淄周峪岭川原野田禾稼穗谷粮麦茂荣昊晟昱晨曦阳旭朗晴皓月灿烁琪琳瑶璐珂玉翠珍珠宸寰域赢
    誉鼎尊贵富裕厚实朴真淳善仁义礼忠勤俭久长青绿蓝紫红黄白玄元亨贞吉庆喜乐欣悦怡畅阔大万
    千百亿兆一三九轩志铭钰锟铂灏沣洲瀚浩淼森焱垚磊鑫犇骉晶晶品众淼标杰赛威尔德普惠民信达
    立邦宜居恩泽佑禄寿喆哲瑾琦骅骁骐骥驿途程路桥渡港湾岸帆舟"""
)

# --------------------------------------------------------------------------------------------
# Profiles: what an entity does, which decides its name, scope, licences and penalty domains
# --------------------------------------------------------------------------------------------


class _Profile(NamedTuple):
    key: str  # the industry word, shop type, or institution type
    names: tuple[str, ...]  # name parts (shop suffixes, topics, institution names...)
    scope: str
    licenses: tuple[str, ...]  # keys of LICENSES
    domains: tuple[str, ...]  # penalty domains, uniformly drawn
    org_type: str = "1"  # the USCC organisation type character


_GENERAL = "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
_PERMIT = (
    "（依法须经批准的项目，经相关部门批准后方可开展经营活动，具体经营项目以相关部门批准文件"
    "或许可证件为准）"
)


def _scope(general: str, permitted: str = "") -> str:
    text = f"一般项目：{general}。{_GENERAL}"
    if permitted:
        text += f"许可项目：{permitted}。{_PERMIT}"
    return text


# fmt: off
_M = ("market",)
# key, names, scope, licences, penalty domains, USCC organisation type
ENTERPRISE_PROFILES = _Weighted([
    (_Profile("纺织", (), _scope("面料纺织加工；针纺织品及原料销售；服装制造；家用纺织制成品制造；货物进出口"), (), ("market", "environment", "fire_safety", "work_safety")), 9.0),
    (_Profile("丝绸", (), _scope("丝绸制品制造；针纺织品销售；服装服饰批发；工艺美术品及礼仪用品销售（象牙及其制品除外）"), (), ("market", "fire_safety")), 5.0),
    (_Profile("印染", (), _scope("面料印染加工；针纺织品及原料销售；染料销售"), ("pollutant",), ("environment", "environment", "work_safety")), 2.0),
    (_Profile("机械", (), _scope("通用设备制造（不含特种设备制造）；机械零件、零部件加工；机械设备销售；金属制品销售"), ("special_equipment",), ("market", "work_safety", "special_equipment")), 7.0),
    (_Profile("建材", (), _scope("建筑材料销售；轻质建筑材料制造；水泥制品销售；五金产品零售"), (), ("market", "environment")), 5.0),
    (_Profile("商贸", (), _scope("日用百货销售；五金产品批发；针纺织品销售；电子产品销售；建筑材料销售；货物进出口", "食品销售"), ("food_sales", "tobacco"), ("market", "food_safety")), 12.0),
    (_Profile("食品", (), _scope("食用农产品初加工；食品销售（仅销售预包装食品）", "食品生产；食品销售"), ("food_production", "food_sales"), ("food_safety", "food_safety", "market")), 4.0),
    (_Profile("化工", (), _scope("化工产品销售（不含许可类化工产品）；专用化学产品制造（不含危险化学品）", "危险化学品经营"), ("hazchem", "pollutant"), ("environment", "work_safety", "fire_safety")), 3.0),
    (_Profile("电子科技", (), _scope("技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；电子元器件制造；电子产品销售；软件开发"), (), _M), 5.0),
    (_Profile("物流", (), _scope("普通货物仓储服务（不含危险化学品等需许可审批的项目）；国内货物运输代理；装卸搬运", "道路货物运输（不含危险货物）"), ("road_transport",), ("market", "work_safety")), 4.0),
    (_Profile("餐饮管理", (), _scope("餐饮管理；食品销售（仅销售预包装食品）", "餐饮服务"), ("catering",), ("food_safety", "food_safety", "fire_safety")), 4.0),
    (_Profile("建筑工程", (), _scope("园林绿化工程施工；土石方工程施工；建筑材料销售", "建设工程施工；施工专业作业"), ("construction", "building_permit"), ("work_safety", "market", "environment")), 6.0),
    (_Profile("农业科技", (), _scope("农业科学研究和试验发展；蔬菜种植；水果种植；化肥销售；农业机械服务"), (), _M), 3.0),
    (_Profile("陶瓷", (), _scope("日用陶瓷制品制造；特种陶瓷制品制造；卫生陶瓷制品销售"), ("pollutant",), ("environment", "work_safety")), 2.0),
    (_Profile("耐火材料", (), _scope("耐火材料生产；耐火材料销售；保温材料销售"), ("pollutant",), ("environment", "work_safety")), 3.0),
    (_Profile("汽车配件", (), _scope("汽车零部件及配件制造；汽车零配件批发；汽车零配件零售；机动车修理和维护"), ("special_equipment",), ("market", "work_safety", "environment")), 4.0),
    (_Profile("医药", (), _scope("第一类医疗器械销售；第二类医疗器械销售；保健食品（预包装）销售", "药品零售；第三类医疗器械经营"), ("drug",), ("market", "food_safety")), 2.0),
    (_Profile("人力资源", (), _scope("人力资源服务（不含职业中介活动、劳务派遣服务）；劳务服务（不含劳务派遣）", "劳务派遣服务"), ("labor_dispatch",), _M), 2.0),
    (_Profile("物业管理", (), _scope("物业管理；家政服务；园林绿化工程施工；停车场服务"), (), ("market", "fire_safety")), 3.0),
    (_Profile("酒店管理", (), _scope("酒店管理；会议及展览服务", "住宿服务；餐饮服务"), ("hygiene", "catering"), ("fire_safety", "food_safety", "market")), 2.0),
    (_Profile("塑料制品", (), _scope("塑料制品制造；塑料制品销售；包装材料及制品销售"), ("pollutant",), ("environment", "market")), 2.0),
    (_Profile("环保科技", (), _scope("环保咨询服务；大气污染治理；水污染治理；固体废物治理"), (), _M), 2.0),
    (_Profile("文化传媒", (), _scope("组织文化艺术交流活动；广告设计、代理；广告制作；会议及展览服务"), (), _M), 3.0),
    (_Profile("信息技术", (), _scope("信息技术咨询服务；软件开发；信息系统集成服务；计算机软硬件及辅助设备零售"), (), _M), 3.0),
    (_Profile("房地产开发", (), _scope("房地产经纪；住房租赁", "房地产开发经营"), ("building_permit",), ("market", "work_safety")), 1.0),
    (_Profile("不锈钢制品", (), _scope("金属制品研发；金属制日用品制造；五金产品制造"), (), ("market", "work_safety")), 2.0),
    (_Profile("合伙企业", ("企业管理咨询", "股权投资", "创业投资", "商务信息咨询"), _scope("以自有资金从事投资活动；企业管理咨询；信息咨询服务（不含许可类信息咨询服务）"), (), _M), 2.0),
    (_Profile("合作社", ("果蔬种植", "蔬菜种植", "葡萄种植", "小麦种植", "中药材种植", "生猪养殖", "蛋鸡养殖", "农机服务", "苗木种植", "食用菌种植"), "组织收购、销售成员生产的农产品；引进新技术、新品种，开展技术培训、技术交流和咨询服务；为成员提供农业生产资料的购买服务。", (), _M, "3"), 3.0),
])
LEGAL_FORMS = _Weighted([("有限公司", 60.0), ("有限责任公司", 30.0), ("股份有限公司", 5.0)])
ENTERPRISE_PREFIXES = _Weighted([("淄博", 48.0), ("淄博市周村区", 30.0), ("山东", 14.0), ("淄博周村", 8.0)])

_F = ("food_safety", "fire_safety")
INDIVIDUAL_PROFILES = _Weighted([
    (_Profile("餐饮", ("小吃店", "饭店", "面馆", "水饺馆", "快餐店", "烧烤店", "早餐店", "菜馆"), _scope("食品销售（仅销售预包装食品）", "餐饮服务"), ("catering",), _F, "2"), 20.0),
    (_Profile("烧饼", ("烧饼店", "烧饼坊", "烧饼铺"), _scope("食用农产品零售", "食品小作坊经营；食品销售"), ("food_sales",), ("food_safety",), "2"), 5.0),
    (_Profile("超市", ("超市", "便利店", "日用品商店", "烟酒店", "副食店"), _scope("日用百货销售；文具用品零售", "食品销售；烟草制品零售"), ("food_sales", "tobacco"), ("food_safety", "market"), "2"), 18.0),
    (_Profile("布庄", ("布庄", "服装店", "鞋店", "丝绸店", "绸布店"), _scope("针纺织品销售；服装服饰零售；鞋帽零售"), (), ("market", "fire_safety"), "2"), 12.0),
    (_Profile("五金", ("五金店", "建材经营部", "五金建材店", "水暖器材店"), _scope("五金产品零售；建筑材料销售；日用杂品销售"), (), ("market", "fire_safety"), "2"), 9.0),
    (_Profile("汽修", ("汽车修理部", "汽车美容店", "轮胎店"), _scope("机动车修理和维护；汽车零配件零售；洗车服务"), (), ("market", "environment", "fire_safety"), "2"), 7.0),
    (_Profile("美发", ("理发店", "美容美发店", "美发工作室"), _scope("美甲服务；化妆品零售", "生活美容服务；理发服务"), ("hygiene",), ("market", "fire_safety"), "2"), 8.0),
    (_Profile("维修", ("手机维修店", "家电维修部", "电动车维修部"), _scope("通讯设备修理；日用电器修理；电子产品销售"), (), _M, "2"), 6.0),
    (_Profile("果蔬", ("水果店", "蔬菜店", "粮油店", "鲜肉店"), _scope("食用农产品零售；新鲜水果零售；新鲜蔬菜零售", "食品销售"), ("food_sales",), ("food_safety", "market"), "2"), 8.0),
    (_Profile("茶叶", ("茶叶店", "茶庄"), _scope("茶具销售；工艺美术品零售", "食品销售"), ("food_sales",), ("food_safety", "market"), "2"), 2.0),
    (_Profile("文具", ("文具店", "书店", "图文快印店"), _scope("文具用品零售；办公用品销售", "出版物零售"), ("publication",), _M, "2"), 3.0),
    (_Profile("药店", ("大药房", "药店"), _scope("第一类医疗器械销售；第二类医疗器械销售", "药品零售"), ("drug",), ("market", "food_safety"), "2"), 2.0),
])

SOCIETY_TOPICS = (
    "书法家", "美术家", "摄影家", "作家", "个体劳动者", "餐饮", "烧饼行业", "丝绸行业",
    "纺织行业", "老年人体育", "篮球", "象棋", "钓鱼", "志愿者", "企业家", "建筑业",
    "物流", "电子商务", "家政服务", "收藏家", "民间文艺家", "诗词", "太极拳", "乒乓球",
)
SOCIAL_PROFILES = _Weighted([
    (_Profile("协会", SOCIETY_TOPICS, "业务范围：组织会员开展交流、培训、展览、比赛和公益活动；维护会员合法权益；承办业务主管单位委托的其他事项。", (), _M, "1"), 48.0),
    (_Profile("商会", ("浙江", "江苏", "河北", "福建", "青年", "女企业家", "丝绸"), "业务范围：为会员提供信息咨询、法律维权服务；组织开展经贸交流和招商引资活动；承办政府部门委托的其他事项。", (), _M, "1"), 7.0),
    (_Profile("养老", ("养老服务中心", "颐养院", "老年公寓", "日间照料中心"), "业务范围：为老年人提供生活照料、膳食供应、康复护理和文化娱乐等养老服务。", ("canteen",), ("fire_safety", "food_safety"), "2"), 12.0),
    (_Profile("学校", ("培训学校", "文化艺术培训学校", "职业培训学校", "幼儿园"), "业务范围：文化艺术、职业技能等非学历教育培训；学前教育。", ("school",), ("fire_safety",), "2"), 18.0),
    (_Profile("社工", ("社会工作服务中心", "康复中心", "家庭服务中心", "志愿服务中心"), "业务范围：开展社会工作服务、社区服务、康复服务和志愿服务；承接政府购买服务项目。", (), ("fire_safety",), "2"), 12.0),
    (_Profile("基金会", ("教育发展", "慈善", "见义勇为", "文化发展"), "业务范围：接受社会捐赠，资助教育、扶贫济困、见义勇为和文化发展等公益事业。", (), _M, "3"), 3.0),
])

_ORDINALS = "一二三四五六七八九十"
_SCHOOL = ("fire_safety", "food_safety")
PUBLIC_PROFILES = _Weighted([
    (_Profile("小学", ("实验小学", "小学", "中心小学"), "宗旨和业务范围：实施小学义务教育，促进基础教育发展。小学学历教育。", ("canteen",), _SCHOOL, "2"), 30.0),
    (_Profile("中学", ("中学", "实验中学", "初级中学"), "宗旨和业务范围：实施初中义务教育，促进基础教育发展。初中学历教育。", ("canteen",), _SCHOOL, "2"), 15.0),
    (_Profile("幼儿园", ("幼儿园", "中心幼儿园", "实验幼儿园"), "宗旨和业务范围：实施学前教育，促进幼儿身心健康发展。", ("canteen",), _SCHOOL, "2"), 12.0),
    (_Profile("医院", ("周村区人民医院", "周村区中医院", "周村区妇幼保健院", "周村区精神卫生中心"), "宗旨和业务范围：为人民身体健康提供医疗与护理保健服务。医疗与护理、医学教学、医学研究、卫生技术人员培训。", ("medical", "pollutant"), ("environment", "fire_safety", "special_equipment"), "2"), 5.0),
    (_Profile("卫生院", ("卫生院", "社区卫生服务中心"), "宗旨和业务范围：为辖区居民提供基本医疗和公共卫生服务。", ("medical",), ("fire_safety", "environment"), "2"), 12.0),
    (_Profile("疾控", ("周村区疾病预防控制中心", "周村区卫生健康综合执法大队"), "宗旨和业务范围：开展疾病预防控制，保障人民身体健康。传染病、慢性非传染性疾病预防与控制，卫生监测与检验。", (), ("environment",), "2"), 2.0),
    (_Profile("文化", ("周村区图书馆", "周村区文化馆", "周村区档案馆", "周村区融媒体中心", "周村区博物馆"), "宗旨和业务范围：开展公共文化服务，满足群众文化需求。", (), ("fire_safety",), "2"), 6.0),
    (_Profile("服务中心", ("农业综合服务中心", "便民服务中心", "退役军人服务站", "综合执法中队"), "宗旨和业务范围：为辖区群众和企业提供公共服务。", (), ("fire_safety",), "2"), 18.0),
])

BUREAUS = (
    "市场监督管理局", "发展和改革局", "教育和体育局", "财政局", "民政局", "人力资源和社会保障局",
    "住房和城乡建设局", "交通运输局", "农业农村局", "水利局", "商务局", "文化和旅游局",
    "卫生健康局", "应急管理局", "审计局", "统计局", "医疗保障局", "退役军人事务局",
    "行政审批服务局", "综合行政执法局", "司法局", "信访局", "人民政府办公室", "科学技术局",
)
AGENCY_PROFILES = _Weighted([
    (_Profile("局", BUREAUS, "", (), (), "1"), 60.0),
    (_Profile("街道", SUBDISTRICTS, "", (), (), "1"), 22.0),
    (_Profile("镇", TOWNS, "", (), (), "1"), 18.0),
])
# fmt: on

PROFILES: dict[EntityKind, _Weighted[_Profile]] = {
    "enterprise": ENTERPRISE_PROFILES,
    "individual_business": INDIVIDUAL_PROFILES,
    "social_organization": SOCIAL_PROFILES,
    "public_institution": PUBLIC_PROFILES,
    "government_agency": AGENCY_PROFILES,
}
ENTITY_KINDS: _Weighted[EntityKind] = _Weighted(
    [
        ("enterprise", 70.0),
        ("individual_business", 18.0),
        ("social_organization", 5.0),
        ("public_institution", 4.0),
        ("government_agency", 3.0),
    ]
)
AUTHORITY_CODE: dict[EntityKind, str] = {
    "enterprise": "9",
    "individual_business": "9",
    "social_organization": "5",
    "public_institution": "1",
    "government_agency": "1",
}
REGISTRATION_AUTHORITY: dict[EntityKind, str] = {
    "enterprise": MARKET,
    "individual_business": MARKET,
    "social_organization": CIVIL_AFFAIRS,
    "public_institution": STAFFING,
    "government_agency": STAFFING,
}
# The second letter of new-style (2016 and later) organisation code bodies: "MA" for market
# registrations, "MB" public institutions, "MJ" social organisations.
NEW_CODE_LETTER: dict[EntityKind, str] = {
    "enterprise": "A",
    "individual_business": "A",
    "social_organization": "J",
    "public_institution": "B",
    "government_agency": "",
}
STATUSES: dict[EntityKind, _Weighted[EntityStatus]] = {
    "enterprise": _Weighted([("active", 92.0), ("revoked", 3.0), ("cancelled", 5.0)]),
    "individual_business": _Weighted([("active", 92.0), ("revoked", 3.0), ("cancelled", 5.0)]),
    "social_organization": _Weighted([("active", 94.0), ("revoked", 2.0), ("cancelled", 4.0)]),
    "public_institution": _Weighted([("active", 98.0), ("cancelled", 2.0)]),
    "government_agency": _Weighted([("active", 98.0), ("cancelled", 2.0)]),
}
ENTERPRISE_CAPITAL = _Weighted(
    [
        (yuan * 10_000, w)
        for yuan, w in (
            (10, 8.0), (20, 6.0), (30, 7.0), (50, 12.0), (100, 16.0), (200, 9.0), (300, 8.0),
            (500, 10.0), (800, 3.0), (1000, 8.0), (2000, 4.0), (3000, 3.0), (5000, 3.0),
            (8000, 0.8), (10000, 1.2),
        )
    ]
)  # fmt: skip
INDIVIDUAL_CAPITAL = _Weighted(
    [
        (yuan * 10_000, w)
        for yuan, w in (
            (1, 15.0),
            (2, 12.0),
            (3, 15.0),
            (5, 20.0),
            (10, 18.0),
            (20, 10.0),
            (30, 6.0),
            (50, 4.0),
        )
    ]
)
SOCIAL_CAPITAL = _Weighted(
    [
        (yuan * 10_000, w)
        for yuan, w in ((3, 40.0), (5, 20.0), (10, 20.0), (20, 10.0), (50, 6.0), (200, 4.0))
    ]
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "176", "177", "178", "180", "181",
    "182", "183", "185", "186", "187", "188", "189", "199",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------

RECORD_KINDS: dict[EntityKind, _Weighted[RecordKind]] = {
    "enterprise": _Weighted(
        [
            ("license", 33.0), ("penalty", 15.0), ("red_list", 6.0), ("black_list", 2.0),
            ("abnormal_operation", 10.0), ("tax_rating", 14.0), ("tax_violation", 3.0),
            ("court_enforcement", 8.0), ("dishonest_debtor", 3.0),
            ("social_insurance_arrears", 6.0),
        ]
    ),
    "individual_business": _Weighted(
        [
            ("license", 42.0), ("penalty", 16.0), ("red_list", 1.0), ("black_list", 1.0),
            ("abnormal_operation", 20.0), ("tax_rating", 5.0), ("tax_violation", 2.0),
            ("court_enforcement", 7.0), ("dishonest_debtor", 3.0),
            ("social_insurance_arrears", 2.0),
        ]
    ),
    "social_organization": _Weighted(
        [
            ("license", 20.0), ("penalty", 6.0), ("red_list", 6.0), ("black_list", 2.0),
            ("abnormal_operation", 25.0), ("tax_rating", 8.0), ("court_enforcement", 4.0),
            ("social_insurance_arrears", 6.0),
        ]
    ),
    "public_institution": _Weighted(
        [
            ("license", 45.0), ("penalty", 8.0), ("red_list", 8.0), ("tax_rating", 6.0),
            ("court_enforcement", 3.0), ("social_insurance_arrears", 3.0),
        ]
    ),
    "government_agency": _Weighted(
        [("license", 30.0), ("red_list", 10.0), ("court_enforcement", 6.0), ("tax_rating", 4.0)]
    ),
}  # fmt: skip
RECORD_COUNTS: dict[EntityKind, _Weighted[int]] = {
    "enterprise": _Weighted(
        [(0, 33.0), (1, 24.0), (2, 16.0), (3, 10.0), (4, 6.5), (5, 4.0), (6, 2.5), (7, 1.5),
         (8, 1.0), (9, 0.7), (10, 0.5), (12, 0.3)]
    ),
    "individual_business": _Weighted(
        [(0, 45.0), (1, 26.0), (2, 13.0), (3, 7.0), (4, 4.0), (5, 2.5), (6, 1.5), (7, 1.0)]
    ),
    "social_organization": _Weighted([(0, 68.0), (1, 21.0), (2, 7.0), (3, 2.5), (4, 1.5)]),
    "public_institution": _Weighted([(0, 66.0), (1, 22.0), (2, 8.0), (3, 3.0), (5, 1.0)]),
    "government_agency": _Weighted([(0, 88.0), (1, 9.0), (2, 2.0), (3, 1.0)]),
}  # fmt: skip
PERSON_RECORD_COUNTS = _Weighted([(0, 86.0), (1, 9.0), (2, 3.5), (3, 1.5)])
PERSON_RECORD_KINDS: _Weighted[RecordKind] = _Weighted(
    [
        ("court_enforcement", 40.0),
        ("dishonest_debtor", 20.0),
        ("tax_violation", 15.0),
        ("social_insurance_arrears", 25.0),
    ]
)
# Records of one subject are numbered 0.._MAX_RECORDS-1; document numbers encode that position.
_MAX_RECORDS = 16


class _License(NamedTuple):
    name: str
    title: str
    department: str
    doc_prefix: str
    number_style: str
    contents: tuple[str, ...]
    years: int


# fmt: off
# name, title, department, document prefix, licence number style, permitted contents, years valid
LICENSES: dict[str, _License] = {
    "food_sales": _License("食品经营许可证", "食品经营许可", APPROVAL, "周行审食经", "JY1", ("预包装食品（含冷藏冷冻食品）销售", "预包装食品（不含冷藏冷冻食品）销售；散装食品（不含冷藏冷冻食品）销售", "预包装食品销售；散装食品销售；保健食品销售"), 5),
    "catering": _License("食品经营许可证", "食品经营许可", APPROVAL, "周行审食经", "JY2", ("热食类食品制售", "热食类食品制售；冷食类食品制售", "热食类食品制售；自制饮品制售"), 5),
    "canteen": _License("食品经营许可证", "食品经营许可", APPROVAL, "周行审食经", "JY3", ("单位食堂（热食类食品制售）", "学校食堂（热食类食品制售）"), 5),
    "food_production": _License("食品生产许可证", "食品生产许可", APPROVAL, "周行审食生", "SC", ("糕点（烘烤类糕点）", "方便食品（其他方便食品）", "粮食加工品（挂面）", "调味品（酱类）"), 5),
    "pollutant": _License("排污许可证", "排污许可", ENVIRONMENT, "淄周环许", "PW", ("废气：颗粒物、二氧化硫、氮氧化物", "废水：化学需氧量、氨氮", "废气：挥发性有机物；废水：化学需氧量"), 5),
    "hazchem": _License("危险化学品经营许可证", "危险化学品经营许可", EMERGENCY, "周应急危化", "WH", ("批发（无储存）：甲醇、乙醇、盐酸、硫酸", "零售：油漆、稀释剂"), 3),
    "road_transport": _License("道路运输经营许可证", "道路运输经营许可", APPROVAL, "周行审交运", "YS", ("道路普通货物运输", "道路普通货物运输；货物专用运输（集装箱）"), 4),
    "hygiene": _License("公共场所卫生许可证", "公共场所卫生许可", APPROVAL, "周行审卫", "WS", ("美容店、理发店", "宾馆"), 4),
    "construction": _License("建筑业企业资质证书", "建筑业企业资质", APPROVAL, "周行审建资", "JZ", ("建筑工程施工总承包叁级", "市政公用工程施工总承包叁级", "施工劳务不分等级"), 5),
    "building_permit": _License("建筑工程施工许可证", "建筑工程施工许可", APPROVAL, "周行审建施", "SG", ("厂房及配套设施建设项目", "综合楼建设项目", "仓储用房建设项目"), 3),
    "labor_dispatch": _License("劳务派遣经营许可证", "劳务派遣经营许可", APPROVAL, "周行审劳派", "LP", ("劳务派遣经营",), 3),
    "drug": _License("药品经营许可证", "药品经营许可", APPROVAL, "周行审药", "YP", ("中药饮片、中成药、化学药制剂、抗生素制剂、生化药品", "中成药、化学药制剂、抗生素制剂"), 5),
    "tobacco": _License("烟草专卖零售许可证", "烟草专卖零售许可", TOBACCO, "周烟零许", "YC", ("卷烟、雪茄烟零售",), 5),
    "publication": _License("出版物经营许可证", "出版物经营许可", APPROVAL, "周行审新出", "CB", ("图书、报纸、期刊零售",), 6),
    "medical": _License("医疗机构执业许可证", "医疗机构执业许可", APPROVAL, "周行审医", "YL", ("内科；外科；妇产科；儿科；预防保健科；医学检验科；医学影像科", "全科医疗科；中医科；预防保健科"), 5),
    "school": _License("民办学校办学许可证", "民办学校办学许可", APPROVAL, "周行审教", "JM", ("文化艺术类培训", "职业技能培训", "学前教育"), 5),
    "special_equipment": _License("特种设备使用登记证", "特种设备使用登记", MARKET, "周市监特登", "TZ", ("电梯（曳引驱动乘客电梯）", "起重机械（桥式起重机）", "场（厂）内专用机动车辆（叉车）", "压力容器（储气罐）"), 6),
}
# fmt: on

GENERIC_LICENSES = ("special_equipment", "building_permit", "pollutant", "food_sales")


class _Violation(NamedTuple):
    text: str
    basis: str


PENALTY_DEPARTMENTS: dict[str, tuple[str, str]] = {
    "market": (MARKET, "周市监罚"),
    "food_safety": (MARKET, "周市监罚"),
    "special_equipment": (MARKET, "周市监罚"),
    "environment": (ENVIRONMENT, "淄周环罚字"),
    "tax": (TAX, "周税罚"),
    "work_safety": (EMERGENCY, "（周）应急罚"),
    "fire_safety": (FIRE, "周消行罚决字"),
}
# fmt: off
VIOLATIONS: dict[str, tuple[_Violation, ...]] = {
    "market": (
        _Violation("销售不符合保障人体健康和人身、财产安全的国家标准的产品", "《中华人民共和国产品质量法》第四十九条"),
        _Violation("对商品的性能、功能、质量作虚假或者引人误解的商业宣传", "《中华人民共和国反不正当竞争法》第二十条"),
        _Violation("使用未经检定的计量器具", "《中华人民共和国计量法实施细则》第四十三条"),
        _Violation("发布违法广告", "《中华人民共和国广告法》第五十八条"),
        _Violation("未按规定明码标价", "《中华人民共和国价格法》第四十二条"),
        _Violation("销售侵犯注册商标专用权的商品", "《中华人民共和国商标法》第六十条"),
        _Violation("提交虚假材料取得市场主体登记", "《中华人民共和国市场主体登记管理条例》第四十四条"),
    ),
    "food_safety": (
        _Violation("经营超过保质期的食品", "《中华人民共和国食品安全法》第一百二十四条"),
        _Violation("未取得食品经营许可从事食品经营活动", "《中华人民共和国食品安全法》第一百二十二条"),
        _Violation("安排未取得健康证明的人员从事接触直接入口食品的工作", "《中华人民共和国食品安全法》第一百二十六条"),
        _Violation("未按规定查验供货者许可证和食品合格证明文件", "《中华人民共和国食品安全法》第一百二十六条"),
        _Violation("餐具、饮具未按规定洗净、消毒", "《中华人民共和国食品安全法》第一百二十六条"),
        _Violation("经营标签不符合规定的预包装食品", "《中华人民共和国食品安全法》第一百二十五条"),
    ),
    "special_equipment": (
        _Violation("使用未经定期检验的特种设备", "《中华人民共和国特种设备安全法》第八十四条"),
        _Violation("未配备具有相应资格的特种设备作业人员", "《中华人民共和国特种设备安全法》第八十六条"),
        _Violation("特种设备未按规定办理使用登记", "《中华人民共和国特种设备安全法》第八十三条"),
    ),
    "environment": (
        _Violation("超过大气污染物排放标准排放大气污染物", "《中华人民共和国大气污染防治法》第九十九条"),
        _Violation("未采取有效措施防治扬尘污染", "《中华人民共和国大气污染防治法》第一百一十五条"),
        _Violation("未依法取得排污许可证排放污染物", "《排污许可管理条例》第三十三条"),
        _Violation("通过暗管等逃避监管的方式排放水污染物", "《中华人民共和国水污染防治法》第八十三条"),
        _Violation("未按照规定贮存危险废物", "《中华人民共和国固体废物污染环境防治法》第一百一十二条"),
        _Violation("建设项目未依法报批环境影响评价文件擅自开工建设", "《中华人民共和国环境影响评价法》第三十一条"),
    ),
    "tax": (
        _Violation("未按照规定期限办理纳税申报和报送纳税资料", "《中华人民共和国税收征收管理法》第六十二条"),
        _Violation("未按照规定设置、保管账簿或者保管记账凭证和有关资料", "《中华人民共和国税收征收管理法》第六十条"),
        _Violation("应扣未扣、应收而不收税款", "《中华人民共和国税收征收管理法》第六十九条"),
    ),
    "work_safety": (
        _Violation("未按照规定对从业人员进行安全生产教育和培训", "《中华人民共和国安全生产法》第九十七条"),
        _Violation("未建立事故隐患排查治理制度", "《中华人民共和国安全生产法》第一百零一条"),
        _Violation("未在有较大危险因素的生产经营场所设置明显的安全警示标志", "《中华人民共和国安全生产法》第九十九条"),
        _Violation("未为从业人员提供符合国家标准或者行业标准的劳动防护用品", "《中华人民共和国安全生产法》第九十九条"),
    ),
    "fire_safety": (
        _Violation("消防设施、器材未保持完好有效", "《中华人民共和国消防法》第六十条第一款第一项"),
        _Violation("占用、堵塞、封闭疏散通道、安全出口", "《中华人民共和国消防法》第六十条第一款第三项"),
        _Violation("埋压、圈占、遮挡消火栓", "《中华人民共和国消防法》第六十条第一款第二项"),
        _Violation("人员密集场所在门窗上设置影响逃生和灭火救援的障碍物", "《中华人民共和国消防法》第六十条第一款第六项"),
    ),
}
# fmt: on

GENERAL_FINES = _Weighted(
    [(500, 6.0), (1000, 10.0), (2000, 10.0), (3000, 9.0), (5000, 14.0), (8000, 6.0),
     (10000, 12.0), (15000, 5.0), (20000, 8.0), (30000, 5.0), (50000, 4.0)]
)  # fmt: skip
SERIOUS_FINES = _Weighted(
    [(50000, 6.0), (80000, 3.0), (100000, 8.0), (150000, 3.0), (200000, 5.0), (300000, 3.0),
     (500000, 2.0), (1000000, 1.0)]
)  # fmt: skip
GENERAL_SANCTIONS = _Weighted(
    [("警告", 14.0), ("罚款", 64.0), ("没收违法所得、罚款", 14.0), ("警告、罚款", 8.0)]
)
SERIOUS_SANCTIONS = _Weighted(
    [
        ("罚款", 46.0),
        ("没收违法所得、罚款", 26.0),
        ("责令停产停业、罚款", 16.0),
        ("暂扣许可证件", 6.0),
        ("吊销许可证件", 6.0),
    ]
)

# list name, department, document number prefix, reason for listing
_ListDef = tuple[str, str, str, str]
RED_LISTS: tuple[_ListDef, ...] = (
    ("A级纳税人名单", TAX, "周税信", "连续两年纳税信用评价为A级"),
    ("守合同重信用企业", MARKET, "周市监信", "经公示期满无异议，认定为守合同重信用企业"),
    ("劳动保障守法诚信示范单位", HRSS, "周人社信", "劳动保障守法诚信等级评价为A级"),
    ("诚信建设示范单位", DEVELOPMENT, "周发改信用", "经推荐、审核和公示，认定为诚信建设示范单位"),
    ("环境信用评价绿色企业", ENVIRONMENT, "淄周环信", "年度环境信用评价结果为绿色等级"),
    ("安全生产诚信企业", EMERGENCY, "周应急信", "安全生产标准化达标且三年内未发生生产安全事故"),
)  # fmt: skip
BLACK_LISTS: tuple[_ListDef, ...] = (
    ("严重违法失信主体名单", MARKET, "周市监列严", "被列入经营异常名录届满三年仍未履行相关义务"),
    ("严重违法失信主体名单", MARKET, "周市监列严", "提交虚假材料取得市场主体登记被撤销登记"),
    ("重大税收违法失信主体名单", TAX, "周税失信", "偷税数额100万元以上且占各税种应纳税总额10%以上"),
    ("拖欠农民工工资失信联合惩戒对象名单", HRSS, "周人社失信", "拒不支付劳动报酬，数额达到认定拒不支付劳动报酬罪的数额标准"),
    ("安全生产严重失信主体名单", EMERGENCY, "周应急失信", "未按规定整改重大事故隐患，拒不执行停产停业整顿指令"),
    ("环境信用评价黑色企业", ENVIRONMENT, "淄周环失信", "因环境违法行为被依法责令停产整治"),
)  # fmt: skip
# Lists that organisations other than businesses can be on.
ORGANISATION_RED_LISTS: tuple[_ListDef, ...] = (
    ("诚信建设示范单位", DEVELOPMENT, "周发改信用", "经推荐、审核和公示，认定为诚信建设示范单位"),
    ("劳动保障守法诚信示范单位", HRSS, "周人社信", "劳动保障守法诚信等级评价为A级"),
)
ORGANISATION_BLACK_LISTS: tuple[_ListDef, ...] = (
    ("社会组织严重违法失信名单", CIVIL_AFFAIRS, "周民社失信", "被列入活动异常名录满2年仍未履行相关义务"),
)  # fmt: skip
ABNORMAL_REASONS = (
    "未按照《企业信息公示暂行条例》第八条规定的期限公示年度报告",
    "未按照《企业信息公示暂行条例》第八条规定的期限公示年度报告",
    "通过登记的住所或者经营场所无法联系",
    "公示企业信息隐瞒真实情况、弄虚作假",
    "未在市场监督管理部门依照《企业信息公示暂行条例》第十条规定责令的期限内公示有关企业信息",
)
ABNORMAL_REMOVALS = {
    "未按照《企业信息公示暂行条例》第八条规定的期限公示年度报告": "补报未报年份的年度报告并公示，申请移出",
    "通过登记的住所或者经营场所无法联系": "依法办理住所变更登记，申请移出",
    "公示企业信息隐瞒真实情况、弄虚作假": "更正其公示的信息，申请移出",
    "未在市场监督管理部门依照《企业信息公示暂行条例》第十条规定责令的期限内公示有关企业信息": "公示相关信息，申请移出",
}  # fmt: skip
TAX_LEVELS = _Weighted([("A", 24.0), ("B", 46.0), ("M", 20.0), ("C", 7.0), ("D", 3.0)])
TAX_VIOLATIONS = (
    ("少申报缴纳增值税", 0.5),
    ("少申报缴纳企业所得税", 0.5),
    ("取得不符合规定的发票入账，少缴税款", 0.5),
    ("虚开增值税普通发票", 1.0),
    ("进行虚假纳税申报，少缴税款", 1.0),
)
PERSON_TAX_VIOLATIONS = (
    ("取得劳务报酬未依法申报个人所得税", 0.5),
    ("转让房产未依法申报缴纳个人所得税", 0.5),
    ("取得经营所得未依法办理纳税申报", 0.5),
)
OBLIGATIONS = (
    "支付货款人民币{}元及逾期付款利息",
    "偿还借款本金人民币{}元及利息",
    "支付工程款人民币{}元",
    "支付劳动报酬人民币{}元",
    "支付租金人民币{}元",
    "赔偿损失人民币{}元",
)
INSURANCE_TYPES = (
    ("pension", "基本养老保险", HRSS, "周人社稽"),
    ("medical", "基本医疗保险", MEDICAL_SECURITY, "周医保稽"),
    ("unemployment", "失业保险", HRSS, "周人社稽"),
    ("work_injury", "工伤保险", HRSS, "周人社稽"),
)

# --------------------------------------------------------------------------------------------
# Injective codes
# --------------------------------------------------------------------------------------------

_B31 = len(USCC_ALPHABET)
_TAIL5 = _B31**5  # the five last characters of a new-style code body
_NEW_CODE_ERAS = (2020, 2022, 2023)  # new-style third character changes with these years
_ERA_CHARS = "39CD"
_SPARE_CHARS = "".join(c for c in USCC_ALPHABET if c not in _ERA_CHARS)
_OLD_CODES = 10**8  # all-digit bodies of older organisations
_MUL5 = 9_419_477  # coprime to 31: an affine permutation of range(_TAIL5)
_MUL8 = 48_271_937  # coprime to 10: an affine permutation of range(_OLD_CODES)
# Entity indices must stay below this for codes to stay unique (both code styles fit it).
MAX_ENTITIES = _OLD_CODES

_BIRTH_FIRST = date(1950, 1, 1).toordinal()
_BIRTH_DAYS = date(2005, 12, 31).toordinal() - _BIRTH_FIRST + 1
_SEQUENCES = 999  # sequences 001..999
MAX_PERSONS = _BIRTH_DAYS * _SEQUENCES
_MULP = next(m for m in range(7_654_321, MAX_PERSONS) if gcd(m, MAX_PERSONS) == 1)


def _base31(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, _B31)
        chars.append(USCC_ALPHABET[digit])
    return "".join(reversed(chars))


def _org_code_body(i: int, seed: int, letter: str, year: int) -> str:
    """An 8-char organisation code body that no other index can have (for one seed)."""
    if letter and year >= 2016:
        block, rest = divmod(i, _TAIL5)
        era = sum(year >= y for y in _NEW_CODE_ERAS)
        third = _ERA_CHARS[era] if block == 0 else _SPARE_CHARS[(block - 1) * 4 + era]
        tail = (rest * _MUL5 + seed * 7919) % _TAIL5
        return "M" + letter + third + _base31(tail, 5)
    return f"{(i * _MUL8 + seed * 104_729) % _OLD_CODES:08d}"


def _hex20(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:20]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _person_name(r: _Rand, male: bool) -> str:
    given = MALE_GIVEN if male else FEMALE_GIVEN
    name = SURNAMES.pick(r) + _pick(r, given)
    if r() < 0.72:
        name += _pick(r, given)
    return name


def _trade(r: _Rand) -> str:
    return _pick(r, TRADE_CHARS) + _pick(r, TRADE_CHARS)


def _phone(r: _Rand, mobile_share: float) -> str:
    if r() < mobile_share:
        return _pick(r, MOBILE_PREFIXES) + f"{int(r() * 100_000_000):08d}"
    return f"0533-6{int(r() * 1_000_000):06d}"


def _address(r: _Rand, town: str = "") -> str:
    number = 1 + int(800 * r() ** 1.6)
    return f"{ADDRESS_PREFIX}{town}{_pick(r, TOWN_STREETS if town else ROADS)}{number}号"


def _profile_u(subject_id: str) -> float:
    """A uniform number from the subject id: records find the entity's profile without a draw."""
    return int(subject_id[-8:], 16) / 0x1_0000_0000


def _count_u(subject_id: str) -> float:
    """Another uniform number from the subject id (other digits), for the number of records.

    Subjects without records (most persons, a third of entities) then cost no random stream.
    """
    return int(subject_id[4:12], 16) / 0x1_0000_0000


def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


# --------------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------------


def _name(r: _Rand, kind: EntityKind, profile: _Profile, surname: str) -> tuple[str, str]:
    """The entity's name and, for a few kinds, a town where it sits ("" for the district)."""
    if kind == "enterprise":
        if profile.key == "合作社":
            town = _pick(r, TOWNS)
            pre = FULL_DISTRICT if r() < 0.7 else DISTRICT
            return f"{pre}{town}{_trade(r)}{_pick(r, profile.names)}专业合作社", town
        prefix = ENTERPRISE_PREFIXES.pick(r)
        if profile.key == "合伙企业":
            return f"{prefix}{_trade(r)}{_pick(r, profile.names)}合伙企业（有限合伙）", ""
        return f"{prefix}{_trade(r)}{profile.key}{LEGAL_FORMS.pick(r)}", ""
    if kind == "individual_business":
        shop = _pick(r, profile.names)
        style = r()
        if style < 0.22 and profile.key in ("餐饮", "烧饼", "果蔬"):
            return f"{DISTRICT}{surname}记{shop}", ""
        if style < 0.40:
            return f"{DISTRICT}{_pick(r, OLD_STREETS)}{surname}氏{shop}", ""
        if style < 0.80:
            return f"{DISTRICT}{_trade(r)}{shop}", ""
        if style < 0.90:
            return f"{FULL_DISTRICT}{_trade(r)}{shop}", ""
        town = _pick(r, TOWNS)
        return f"{DISTRICT}{town}{_trade(r)}{shop}", town
    if kind == "social_organization":
        part = _pick(r, profile.names)
        pre = FULL_DISTRICT if r() < 0.4 else DISTRICT
        if profile.key == "协会":
            if r() < 0.25:
                return f"{pre}{_pick(r, TOWNS + SUBDISTRICTS)}{part}协会", ""
            return f"{pre}{part}协会", ""
        if profile.key == "商会":
            return f"{FULL_DISTRICT}{part}商会", ""
        if profile.key == "基金会":
            return f"{FULL_DISTRICT}{part}基金会", ""
        return f"{pre}{_trade(r)}{part}", ""
    if kind == "public_institution":
        part = _pick(r, profile.names)
        if part.startswith(DISTRICT):
            return part, ""
        if profile.key in ("小学", "中学", "幼儿园") and r() < 0.4:
            return f"{DISTRICT}第{_pick(r, _ORDINALS)}{part}", ""
        places = PLACES.get(part, TOWNS + SUBDISTRICTS + OLD_STREETS)
        place = _pick(r, places)
        return f"{DISTRICT}{place}{part}", place if place in TOWNS else ""
    part = _pick(r, profile.names)
    if profile.key == "街道":
        return f"{DISTRICT}{part}办事处", ""
    if profile.key == "镇":
        return f"{DISTRICT}{part}人民政府", part
    return f"{FULL_DISTRICT}{part}", ""


def _business_scope(profile: _Profile, name: str) -> str:
    if profile.scope:
        return profile.scope
    tail = "完成区委、区政府交办的其他任务。"
    if profile.key == "街道":
        return f"主要职责：负责辖区党的建设、经济发展、社会管理、公共服务和基层治理工作；{tail}"
    if profile.key == "镇":
        return f"主要职责：负责全镇经济社会发展、乡村振兴、公共服务和社会治理工作；{tail}"
    if name.endswith("办公室"):
        return f"主要职责：负责区政府日常运转的综合协调、督查督办和政务服务工作；{tail}"
    work = name.removeprefix(FULL_DISTRICT).removesuffix("局")
    return (
        f"主要职责：贯彻执行国家和省、市关于{work}工作的方针政策和法律法规；"
        f"负责全区{work}工作；{tail}"
    )


def _established(r: _Rand, kind: EntityKind, as_of: date) -> int:
    last = as_of.toordinal()
    first = min(date(1985, 1, 1).toordinal(), last)
    span = last - first
    if kind in ("government_agency", "public_institution"):
        return first + int(span * r() ** 1.8)  # older: most long established
    skew = 2.4 if kind == "individual_business" else 2.0 if kind == "enterprise" else 1.3
    return last - int(span * r() ** skew)  # newer: most registered in recent years


def entity(i: int, *, as_of: date, seed: int = DEFAULT_SEED) -> DemoEntity:
    """The synthetic legal person number i (0 <= i < MAX_ENTITIES)."""
    if not 0 <= i < MAX_ENTITIES:
        raise ValueError(f"entity index must be in [0, {MAX_ENTITIES}), not {i}")
    subject_id = "sub_" + _hex20(f"{seed}:e:{i}")
    r = random.Random(f"{seed}:e:{i}").random
    kind = ENTITY_KINDS.pick(r)
    profile = PROFILES[kind].at(_profile_u(subject_id))
    male = r() < 0.68
    representative = _person_name(r, male)
    name, town = _name(r, kind, profile, representative[0])
    est = date.fromordinal(_established(r, kind, as_of))
    if kind == "enterprise":
        capital: int | None = ENTERPRISE_CAPITAL.pick(r)
        if profile.key == "合作社":
            capital = INDIVIDUAL_CAPITAL.pick(r) * 10
    elif kind == "individual_business":
        capital = INDIVIDUAL_CAPITAL.pick(r)
    elif kind == "social_organization":
        capital = SOCIAL_CAPITAL.pick(r)
    else:
        capital = None
    body = _org_code_body(i, seed, NEW_CODE_LETTER[kind], est.year)
    return {
        "subject_id": subject_id,
        "kind": kind,
        "uscc": make_uscc(
            authority=AUTHORITY_CODE[kind],
            org_type=profile.org_type,
            division=DIVISION_CODE,
            org_code_body=body,
        ),
        "name": name,
        "legal_representative": representative,
        "established_on": est,
        "registered_capital": None if capital is None else f"{capital}.00",
        "address": _address(r, town),
        "registration_authority": REGISTRATION_AUTHORITY[kind],
        "status": STATUSES[kind].pick(r),
        "business_scope": _business_scope(profile, name),
        "contact_phone": _phone(r, 0.8 if kind == "individual_business" else 0.35),
    }


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


class _Ctx(NamedTuple):
    """What record builders need to know about the subject."""

    r: _Rand
    name: str
    uscc: str
    first: int  # ordinal of the earliest possible decision (establishment, or 18th birthday)
    last: int  # ordinal of as_of
    side: int  # 0 entity, 1 person
    number: int  # the entity or person index


def _serial(ctx: _Ctx, k: int) -> int:
    """A document serial number no other record of the same seed has."""
    return (ctx.number * _MAX_RECORDS + k) * 2 + ctx.side + 1


def _decided(ctx: _Ctx) -> int:
    """A decision day: mostly in the last four years, never before `first` nor after `last`."""
    r = ctx.r
    back = 1461 if r() < 0.88 else 3652
    lo = max(ctx.first, ctx.last - back)
    return lo + int(r() * (ctx.last - lo + 1))


def _doc(prefix: str, ordinal: int, serial: int) -> str:
    return f"{prefix}〔{date.fromordinal(ordinal).year}〕{serial:04d}号"


def _amount(r: _Rand, low: int, high: int) -> int:
    """An amount in fen, log-uniform-ish between low and high yuan."""
    return int(low * (high / low) ** (r() ** 1.3) * 100)


def _license(ctx: _Ctx, k: int, key: str) -> DemoRecord:
    r = ctx.r
    lic = LICENSES[key]
    serial = _serial(ctx, k)
    term = round(lic.years * 365.25)
    expired = r() < 0.3 and ctx.last - term - 30 >= ctx.first
    if expired:
        lo = max(ctx.first, ctx.last - term - 1100)
        hi = ctx.last - term - 30
    else:
        lo, hi = max(ctx.first, ctx.last - term + 1), ctx.last
    start = lo + int(r() * (hi - lo + 1))
    day = date.fromordinal(start)
    style = lic.number_style
    seq = serial % 1_000_000
    if style.startswith("JY"):
        digits = f"{style[2]}{DIVISION_CODE}{seq:06d}"
        number = f"JY{digits}{sum(map(int, digits)) % 10}"
    elif style == "SC":
        digits = f"1{_pick(r, ('01', '03', '06', '24'))}{DIVISION_CODE}{seq % 10_000:04d}"
        number = f"SC{digits}{sum(map(int, digits)) % 10}"
    elif style == "PW":
        number = f"{ctx.uscc}{1 + serial % 3:03d}{_pick(r, 'PVRQ')}"
    elif style == "TZ":
        number = f"{_pick(r, ('梯11', '起17', '车11', '容15'))}鲁CZ{seq % 10_000:04d}({day:%y})"
    elif style == "YS":
        number = f"鲁交运管许可淄字{DIVISION_CODE}{seq:06d}号"
    elif style == "WH":
        number = f"鲁淄周危化经字〔{day.year}〕{seq:06d}"
    elif style == "WS":
        number = f"周卫公证字〔{day.year}〕第{seq:06d}号"
    else:
        number = f"{DIVISION_CODE}{day:%Y}{style}{seq:06d}"
    return {
        "record_id": "",
        "kind": "license",
        "document_no": _doc(lic.doc_prefix, start, serial),
        "title": lic.title,
        "decided_on": day,
        "department": lic.department,
        "details": {
            "license_name": lic.name,
            "license_no": number,
            "content": _pick(r, lic.contents),
            "valid_from": day.isoformat(),
            "valid_until": _iso(start + term - 1),
        },
    }


def _penalty(ctx: _Ctx, k: int, domain: str, revocation: bool = False) -> DemoRecord:
    r = ctx.r
    department, prefix = PENALTY_DEPARTMENTS[domain]
    violation = _pick(r, VIOLATIONS[domain])
    serious = revocation or r() < 0.06
    if revocation:
        label = "吊销营业执照"
    else:
        label = (SERIOUS_SANCTIONS if serious else GENERAL_SANCTIONS).pick(r)
    fine: int | None = (SERIOUS_FINES if serious else GENERAL_FINES).pick(r)
    if label in ("警告", "暂扣许可证件", "吊销许可证件", "吊销营业执照"):
        fine = None
    if label == "警告":
        result = "给予警告"
    elif fine is None:
        result = f"{label}，责令改正" if label != "吊销营业执照" else "吊销营业执照"
    elif label == "没收违法所得、罚款":
        income = _amount(r, 200, 80_000)
        result = f"没收违法所得人民币{_yuan(income)}元，并处罚款人民币{fine}元"
    elif label == "责令停产停业、罚款":
        result = f"责令停产停业整顿，并处罚款人民币{fine}元"
    elif label == "警告、罚款":
        result = f"给予警告，并处罚款人民币{fine}元"
    else:
        result = f"责令改正，罚款人民币{fine}元"
    decided = _decided(ctx)
    return {
        "record_id": "",
        "kind": "penalty",
        "document_no": _doc(prefix, decided, _serial(ctx, k)),
        "title": f"{ctx.name}{violation.text}案",
        "decided_on": date.fromordinal(decided),
        "department": department,
        "details": {
            "basis": violation.basis,
            "violation": violation.text,
            "result": result,
            "fine_amount": None if fine is None else f"{fine}.00",
            "severity": "serious" if serious else "general",
            "domain": domain,
            "category_label": label,
        },
    }


def _removal(ctx: _Ctx, listed: int, share: float) -> int | None:
    r = ctx.r
    if r() >= share or listed + 30 > ctx.last:
        return None
    return listed + 30 + int(r() * (ctx.last - listed - 30 + 1) * 0.8)


def _listing(ctx: _Ctx, k: int, kind: RecordKind, business: bool) -> DemoRecord:
    r = ctx.r
    if kind == "red_list":
        lists = RED_LISTS if business else ORGANISATION_RED_LISTS
    else:
        lists = BLACK_LISTS if business else ORGANISATION_BLACK_LISTS
    name, department, prefix, reason = _pick(r, lists)
    listed = _decided(ctx)
    removed = _removal(ctx, listed, 0.12 if kind == "red_list" else 0.25)
    return {
        "record_id": "",
        "kind": kind,
        "document_no": _doc(prefix, listed, _serial(ctx, k)),
        "title": f"列入{name}" + ("名单" if not name.endswith("名单") else ""),
        "decided_on": date.fromordinal(listed),
        "department": department,
        "details": {
            "list_name": name,
            "reason": reason,
            "listed_on": _iso(listed),
            "removed_on": None if removed is None else _iso(removed),
        },
    }


def _abnormal(ctx: _Ctx, k: int, kind: EntityKind) -> DemoRecord:
    r = ctx.r
    listed = _decided(ctx)
    removed = _removal(ctx, listed, 0.45)
    if kind == "social_organization":
        department, prefix, title = CIVIL_AFFAIRS, "周民社异", "列入活动异常名录"
        reason = _pick(
            r, ("未按照规定时限报送年度工作报告", "通过登记的住所无法与社会组织取得联系")
        )
        removal = (
            "已报送年度工作报告，申请移出" if reason.startswith("未") else "已取得联系，申请移出"
        )
    else:
        department, prefix = MARKET, "周市监经异"
        if kind == "individual_business":
            title = "标记为经营异常状态"
            reason = _pick(r, ("未按照规定报送年度报告", "通过登记的经营场所无法联系"))
            removal = "补报年度报告，申请恢复正常记载状态"
        else:
            title = "列入经营异常名录"
            reason = _pick(r, ABNORMAL_REASONS)
            removal = ABNORMAL_REMOVALS[reason]
    return {
        "record_id": "",
        "kind": "abnormal_operation",
        "document_no": _doc(prefix, listed, _serial(ctx, k)),
        "title": title,
        "decided_on": date.fromordinal(listed),
        "department": department,
        "details": {
            "reason": reason,
            "listed_on": _iso(listed),
            "removed_on": None if removed is None else _iso(removed),
            "removal_reason": None if removed is None else removal,
        },
    }


def _tax_rating(ctx: _Ctx, k: int, nth: int) -> DemoRecord | None:
    """The rating of the nth last published year, or None if the entity did not exist then."""
    r = ctx.r
    as_of = date.fromordinal(ctx.last)
    latest = as_of.year - 1 if (as_of.month, as_of.day) >= (4, 28) else as_of.year - 2
    year = latest - nth
    if year < date.fromordinal(ctx.first).year or nth > 5:
        return None
    decided = date(year + 1, 4, 1 + int(r() * 27))
    level = TAX_LEVELS.pick(r)
    return {
        "record_id": "",
        "kind": "tax_rating",
        "document_no": _doc("周税信评", decided.toordinal(), _serial(ctx, k)),
        "title": f"{year}年度纳税信用{level}级纳税人",
        "decided_on": decided,
        "department": TAX,
        "details": {"year": year, "level": level},
    }


def _tax_violation(ctx: _Ctx, k: int) -> DemoRecord:
    r = ctx.r
    violation, ratio = _pick(r, PERSON_TAX_VIOLATIONS if ctx.side else TAX_VIOLATIONS)
    tax = _amount(r, 2_000, 600_000 if ctx.side == 0 else 80_000)
    decided = _decided(ctx)
    fine = int(tax * ratio)
    ratio_text = "0.5倍" if ratio == 0.5 else "1倍"
    return {
        "record_id": "",
        "kind": "tax_violation",
        "document_no": _doc("周税罚", decided, _serial(ctx, k)),
        "title": f"{ctx.name}{violation}案",
        "decided_on": date.fromordinal(decided),
        "department": TAX,
        "details": {
            "violation": violation,
            "tax_amount": _yuan(tax),
            "result": (
                f"追缴税款人民币{_yuan(tax)}元，加收滞纳金，并处少缴税款{ratio_text}的罚款"
                f"人民币{_yuan(fine)}元"
            ),
        },
    }


def _court(ctx: _Ctx, k: int) -> tuple[str, str, int]:
    r = ctx.r
    decided = _decided(ctx)
    serial = _serial(ctx, k)
    year = date.fromordinal(decided).year
    if r() < 0.92:
        return COURT, f"（{year}）鲁0306执{serial}号", decided
    return CITY_COURT, f"（{year}）鲁03执{serial}号", decided


def _court_enforcement(ctx: _Ctx, k: int) -> DemoRecord:
    r = ctx.r
    court, case_no, decided = _court(ctx, k)
    amount = _amount(r, 3_000, 5_000_000 if ctx.side == 0 else 500_000)
    concluded = decided < ctx.last - 180 and r() < 0.55
    return {
        "record_id": "",
        "kind": "court_enforcement",
        "document_no": case_no,
        "title": f"{ctx.name}被执行人信息",
        "decided_on": date.fromordinal(decided),
        "department": court,
        "details": {
            "court": court,
            "case_no": case_no,
            "amount": _yuan(amount),
            "status": "concluded" if concluded else "in_progress",
        },
    }


def _dishonest(ctx: _Ctx, k: int) -> DemoRecord:
    r = ctx.r
    court, case_no, decided = _court(ctx, k)
    amount = _amount(r, 5_000, 3_000_000 if ctx.side == 0 else 300_000)
    return {
        "record_id": "",
        "kind": "dishonest_debtor",
        "document_no": case_no,
        "title": f"{ctx.name}失信被执行人信息",
        "decided_on": date.fromordinal(decided),
        "department": court,
        "details": {
            "court": court,
            "case_no": case_no,
            "obligation": _pick(r, OBLIGATIONS).format(_yuan(amount)),
            "performance": "partially_performed" if r() < 0.3 else "not_performed",
        },
    }


def _arrears(ctx: _Ctx, k: int) -> DemoRecord:
    r = ctx.r
    key, label, department, prefix = _pick(r, INSURANCE_TYPES)
    months = 1 + int(r() * r() * 24)
    people = 1 if ctx.side else 1 + int(r() ** 2 * 60)
    monthly = {"pension": 80_000, "medical": 45_000, "unemployment": 4_000, "work_injury": 3_000}
    amount = int(months * people * monthly[key] * (0.8 + 0.4 * r()))
    decided = _decided(ctx)
    return {
        "record_id": "",
        "kind": "social_insurance_arrears",
        "document_no": _doc(prefix, decided, _serial(ctx, k)),
        "title": f"{ctx.name}欠缴{label}费",
        "decided_on": date.fromordinal(decided),
        "department": department,
        "details": {"insurance_type": key, "months": months, "amount": _yuan(amount)},
    }


# The kinds both legal and natural persons can have, made the same way for either.
_SUBJECT_RECORD_MAKERS: dict[str, Callable[[_Ctx, int], DemoRecord]] = {
    "tax_violation": _tax_violation,
    "court_enforcement": _court_enforcement,
    "dishonest_debtor": _dishonest,
    "social_insurance_arrears": _arrears,
}


def _finish(records: list[DemoRecord], seed: int, tag: str, index: int) -> list[DemoRecord]:
    for k, rec in enumerate(records):
        rec["record_id"] = "rec_" + _hex20(f"{seed}:{tag}:{index}:{k}")
    return records


def entity_records(
    i: int, ent: DemoEntity, *, as_of: date, seed: int = DEFAULT_SEED
) -> list[DemoRecord]:
    """The credit records of entity i (`ent` must be `entity(i, as_of=as_of, seed=seed)`)."""
    kind = ent["kind"]
    count = RECORD_COUNTS[kind].at(_count_u(ent["subject_id"]))
    revoked = ent["status"] == "revoked"
    if count == 0 and not revoked:
        return []
    r = random.Random(f"{seed}:er:{i}").random
    profile = PROFILES[kind].at(_profile_u(ent["subject_id"]))
    ctx = _Ctx(
        r, ent["name"], ent["uscc"], ent["established_on"].toordinal(), as_of.toordinal(), 0, i
    )
    records: list[DemoRecord] = []
    ratings = 0
    if revoked:
        records.append(_penalty(ctx, 0, "market", revocation=True))
    kinds = RECORD_KINDS[kind]
    for k in range(len(records), min(count, _MAX_RECORDS)):
        record_kind = kinds.pick(r)
        if record_kind == "penalty" and not profile.domains:
            record_kind = "license"
        if record_kind == "tax_rating":
            rating = _tax_rating(ctx, k, ratings)
            ratings += 1
            if rating is not None:
                records.append(rating)
                continue
            record_kind = "license"
        if record_kind == "license":
            keys = profile.licenses or GENERIC_LICENSES
            records.append(_license(ctx, k, _pick(r, keys)))
        elif record_kind == "penalty":
            domain = "tax" if r() < 0.06 else _pick(r, profile.domains)
            records.append(_penalty(ctx, k, domain))
        elif record_kind in ("red_list", "black_list"):
            business = kind in ("enterprise", "individual_business")
            records.append(_listing(ctx, k, record_kind, business))
        elif record_kind == "abnormal_operation":
            records.append(_abnormal(ctx, k, kind))
        else:
            records.append(_SUBJECT_RECORD_MAKERS[record_kind](ctx, k))
    return _finish(records, seed, "e", i)


def entities(
    n: int, *, as_of: date, seed: int = DEFAULT_SEED, start: int = 0
) -> Iterator[tuple[DemoEntity, list[DemoRecord]]]:
    """Entities start..start+n-1, each with its records."""
    for i in range(start, start + n):
        ent = entity(i, as_of=as_of, seed=seed)
        yield ent, entity_records(i, ent, as_of=as_of, seed=seed)


# --------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------


def _birth(j: int, seed: int) -> tuple[date, int]:
    """A (birth date, sequence) pair that no other index has (for one seed)."""
    x = (j * _MULP + seed * 1_299_709) % MAX_PERSONS
    day, sequence = divmod(x, _SEQUENCES)
    return date.fromordinal(_BIRTH_FIRST + day), sequence + 1


def person(j: int, *, as_of: date, seed: int = DEFAULT_SEED) -> DemoPerson:
    """The synthetic natural person number j (0 <= j < MAX_PERSONS)."""
    if not 0 <= j < MAX_PERSONS:
        raise ValueError(f"person index must be in [0, {MAX_PERSONS}), not {j}")
    birth, sequence = _birth(j, seed)
    r = random.Random(f"{seed}:p:{j}").random
    return {
        "subject_id": "sub_" + _hex20(f"{seed}:p:{j}"),
        "name": _person_name(r, sequence % 2 == 1),
        "id_number": make_id_number(division=DIVISION_CODE, birth_date=birth, sequence=sequence),
    }


def person_records(
    j: int, p: DemoPerson, *, as_of: date, seed: int = DEFAULT_SEED
) -> list[DemoRecord]:
    """The credit records of person j (`p` must be `person(j, as_of=as_of, seed=seed)`)."""
    count = PERSON_RECORD_COUNTS.at(_count_u(p["subject_id"]))
    if count == 0:
        return []
    birth, _ = _birth(j, seed)
    try:
        adult = birth.replace(year=birth.year + 18).toordinal()
    except ValueError:  # born on 29 February
        adult = birth.replace(year=birth.year + 18, day=28).toordinal()
    last = as_of.toordinal()
    if adult > last:
        return []
    r = random.Random(f"{seed}:pr:{j}").random
    ctx = _Ctx(r, p["name"], "", adult, last, 1, j)
    records: list[DemoRecord] = []
    for k in range(count):
        record_kind = PERSON_RECORD_KINDS.pick(r)
        records.append(_SUBJECT_RECORD_MAKERS[record_kind](ctx, k))
    return _finish(records, seed, "p", j)


def persons(
    n: int, *, as_of: date, seed: int = DEFAULT_SEED, start: int = 0
) -> Iterator[tuple[DemoPerson, list[DemoRecord]]]:
    """Persons start..start+n-1, each with their records."""
    for j in range(start, start + n):
        p = person(j, as_of=as_of, seed=seed)
        yield p, person_records(j, p, as_of=as_of, seed=seed)

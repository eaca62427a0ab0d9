"""One concept per red flag, each with the ways patients say it.

Patterns are regular expressions over the normal form of the message (normalise.py: simplified,
half-width, Mandarin, digits); `pinyin` phrases are matched, whole syllables, against the pinyin
view (the patient's own pinyin, and homophone typos such as 胸口通 = xiong kou tong). `near(a, b)`
is "a, then b within a few characters, with no 不/没/无/未 in between" — so 舌头都不肿 is not a
swollen tongue while 胸口压得慌 is chest pressure.

Sources (SOURCES below) are cited by key on each concept, the way FACTS.md cites its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from followup.triage.model import Urgency

SOURCES = {
    "GW2017": "国家基本公共卫生服务规范（第三版，2017）高血压/2型糖尿病患者健康管理：紧急转诊指征 "
    "(FACTS.md §4)",
    "BEFAST": "BE-FAST 卒中识别（Balance, Eyes, Face, Arm, Speech, Time）；中国脑卒中防治指导规范"
    "（2021）卒中识别 [memory]",
    "ACS2019": "急性冠脉综合征急诊快速诊治指南（2019，中华急诊医学杂志）：持续胸痛、放射痛、大汗 "
    "[memory]",
    "PE2018": "肺血栓栓塞症诊治与预防指南（2018，中华医学杂志）：突发呼吸困难、胸痛、咯血、制动/"
    "术后/下肢肿胀 [memory]",
    "UGIB2019": "急性上消化道出血急诊诊治流程专家共识（2020）：呕血、咖啡样呕吐物、黑便 [memory]",
    "ANAPH2019": "严重过敏反应急救指南（2019）；ACEI 相关血管性水肿 [memory]",
    "NEWS2": "Royal College of Physicians, National Early Warning Score 2 (2017): 心率 ≤40 或 "
    "≥131、SpO2 ≤91% 计 3 分；急诊预检分诊专家共识（2018）[memory]",
    "FEVER": "中国 0–5 岁儿童病因不明急性发热诊断和处理若干问题循证指南（2016）：<3 月龄 ≥38 ℃ "
    "高危；老年人发热 ≥39 ℃ 与脑膜刺激征、出血性皮疹 [memory]",
    "SEIZ": "惊厥性癫痫持续状态诊治中国专家共识（2018）；热性惊厥诊断治疗与管理专家共识（2017）"
    " [memory]",
    "OBS": "孕期阴道出血、胎动减少、胎膜早破、子痫前期症状需立即就诊（中华医学会妇产科学分会）"
    " [memory]",
    "ABD": "急腹症：突发剧烈腹痛、板状腹、停止排气排便伴呕吐 [memory]",
    "EYE": "突发视力丧失、视野缺损、复视属眼科/神经科急症 [memory]",
    "HF2018": "中国心力衰竭诊断和治疗指南（2018）：端坐呼吸、夜间阵发性呼吸困难、粉红色泡沫痰、"
    "3 天内体重增加 2 kg 以上 [memory]",
    "AKI": "KDIGO 急性肾损伤指南（2012）：尿量 <0.5 ml/kg/h 持续 6–12 h；无尿 [memory]",
    "SUIC": "自杀风险与药物过量：立即转介危机干预；全国心理援助热线 12356（2025 年启用）"
    "[memory]，急救 120",
    "SYNC": "晕厥诊断与治疗中国专家共识（2018）：晕厥需当面评估 [memory]",
    "CONS": "意识或行为改变属紧急转诊指征（国家基本公共卫生服务规范 第三版）",
    "RESP": "静息时严重气促、不能说完整句子、口唇发绀为急诊指征（急诊预检分诊专家共识 2018）"
    " [memory]",
}

_STOP = r"。！？!?；;\n"


def gap(n: int) -> str:
    """Up to n characters inside one clause, none of them a negation."""
    return rf"(?:(?![不没无未])[^{_STOP}，,]){{0,{n}}}"


def near(a: str, b: str, n: int = 6) -> str:
    return rf"(?:{a}){gap(n)}(?:{b})"


def within(a: str, b: str, n: int = 30) -> str:
    """a, then b later in the same sentence (commas allowed): signs that go together."""
    return rf"(?:{a})[^{_STOP}]{{0,{n}}}?(?<!没有)(?<![不没无未])(?:{b})"


def any_of(*words: str) -> str:
    return "|".join(words)


@dataclass(frozen=True)
class Concept:
    code: str
    label: str
    urgency: Urgency
    source: str
    patterns: tuple[str, ...]
    pinyin: tuple[str, ...] = ()
    # Said at any time, it still stops the visit: a wish to die is never "history" here.
    timeless: bool = False
    # A known harmless cause said in the same sentence (iron tablets blacken the stool), as
    # long as nothing else in the sentence is a warning.
    unless: str = ""


# Words the concepts share.
CHEST = any_of("胸口", "胸部", "胸前", "胸", "心口", "心窝", "心前区", "前胸")
PAIN = any_of("痛", "疼", "通", "桶", "压", "闷", "紧", "憋", "揪", "绞", "刺", "堵", "攥", "捏")
SUDDEN = any_of("突然", "忽然", "一下子", "猛地", "刚才", "刚刚", "刚")
ONE_SIDE = any_of(
    "左边", "右边", "左侧", "右侧", "一边", "一侧", "半边", "半身", "左", "右", "单侧"
)
LIMB = any_of("手", "脚", "腿", "胳膊", "胳臂", "臂", "手臂", "身子", "身体", "肢体", "脸")
WEAK = any_of("没劲", "没力", "无力", "麻", "不能动", "动不了", "抬不起", "拿不住", "不听使唤",
              "不灵", "拖着", "发软", "使不上劲")  # fmt: skip

CONCEPTS: tuple[Concept, ...] = (
    Concept(
        "stroke",
        "疑似脑卒中（中风）",
        Urgency.emergency,
        "BEFAST",
        (
            near(
                any_of("嘴", "口角", "嘴角", "脸", "面"),
                any_of("歪", "斜", "耷拉", "往下", "不动", "下垂", "漏"),
                8,
            ),
            near(ONE_SIDE, near(LIMB, WEAK, 6), 4),
            near(ONE_SIDE, any_of("麻木", "发麻", "无力", "没劲", "没力气", "不能动", "动不了"), 6),
            near(LIMB, any_of("动不了", "抬不起", "拿不住", "不听使唤"), 4),
            near(
                any_of("突然", "刚才", "刚刚", "今天", "早上起来"), any_of("半身不遂", "偏瘫"), 10
            ),
            "口齿不清",
            "吐字不清",
            "言语不清",
            "大舌头",
            "舌头发硬",
            near(
                "说话",
                any_of(
                    "不清",
                    "含糊",
                    "打结",
                    "不利索",
                    "结巴",
                    "说不出",
                    "颠三倒四",
                    "含含糊糊",
                    "像含了东西",
                ),
                6,
            ),
            near(
                SUDDEN,
                any_of(
                    "说不出话",
                    "讲不出",
                    "认不出字",
                    "站不稳",
                    "走路不稳",
                    "走路像喝醉",
                    "往一边倒",
                    "看东西有重影",
                    "看东西重影",
                ),
                12,
            ),
            near("说", any_of("不出话", "不清楚")),
            any_of("中风了", "脑梗了", "卒中了", "脑出血了"),
            any_of("站都站不稳", "站不稳", "走路打飘", "走路不稳"),
            near(
                "往",
                near(any_of("左边", "右边", "一边", "左", "右"), any_of("歪", "倒", "偏"), 2),
                2,
            ),
            "重影",
            "看东西是双的",
            "两个影子",
            "重了影",
            near(any_of("站起来", "走路", "起身"), any_of("就晃", "晃得", "往一边倒"), 4),
            near(any_of("脸", "半边"), any_of("木了", "木脱", "发木", "麻木"), 6),
            any_of(
                "这辈子最痛", "从来没这么痛", "从来没这么疼", "最痛的一次", "锤子砸", "被人打了一棍"
            ),
            near(
                any_of("头", "脑袋"),
                any_of(
                    "炸开", "要裂开", "像要炸", "最痛的一次", "从来没这么疼", "从来没这么痛", "劈开"
                ),
                8,
            ),
            near("一边", "脸不动"),
        ),
        (
            "zui wai",
            "zui ba wai",
            "shuo hua bu qing",
            "ban bian shen",
            "zhong feng le",
            "shuo hua han hu",
            "can't move his",
            "can't move her",
            "slurred",
        ),
    ),
    Concept(
        "severe_headache",
        "剧烈头痛或剧烈头晕",
        Urgency.urgent,
        "GW2017",
        (
            "剧烈头痛",
            "剧烈头晕",
            "头痛欲裂",
            "天旋地转",
            near(
                any_of("头", "脑袋", "后脑勺"),
                any_of(
                    "痛得厉害",
                    "疼得厉害",
                    "痛得要命",
                    "疼得要命",
                    "痛得受不了",
                    "疼得受不了",
                    "疼得睡不着",
                    "痛得睡不着",
                    "剧痛",
                ),
                4,
            ),
        ),
        ("tou teng de yao ming", "tou tong de li hai", "severe headache"),
    ),
    Concept(
        "acs",
        "疑似急性冠脉综合征（心梗）",
        Urgency.emergency,
        "ACS2019",
        (
            near(CHEST, PAIN, 8),
            near(
                any_of("心绞痛", "心梗"),
                any_of("坐着", "休息", "不缓解", "犯了", "又犯", "越来越", "发作"),
                12,
            ),
            near(
                any_of("硝酸甘油", "速效救心丸", "救心丸"),
                any_of("不管用", "没用", "没效果", "还是", "也不", "no use", "没缓解", "不缓解"),
                12,
            ),
            near(any_of("石头", "坐在", "压住", "压了块", "攥住"), CHEST, 6),
            "心梗了",
            "心肌梗",
            within(
                any_of("胃", "心口", "胸"),
                any_of("出冷汗", "冷汗", "一身汗", "浑身是汗", "大汗"),
                24,
            ),
            within(
                any_of("心绞痛", "心梗"), any_of("坐着不动也", "休息也不", "越来越频", "不缓解"), 24
            ),
        ),
        (
            "xiong kou tong",
            "xiong kou teng",
            "xin kou tong",
            "xin kou teng",
            "xiong tong",
            "chest pain",
            "chest tight",
        ),
    ),
    Concept(
        "pulmonary_embolism",
        "疑似肺栓塞",
        Urgency.emergency,
        "PE2018",
        (
            near(any_of("咳", "咯", "吐"), any_of("出血", "血丝", "带血", "咳血", "鲜红"), 6),
            "咳血",
            "咯血",
            within(
                any_of(
                    "火车",
                    "飞机",
                    "大巴",
                    "长途",
                    "手术",
                    "术后",
                    "躺",
                    "石膏",
                    "生完孩子",
                    "产后",
                    "腿肿",
                    "小腿肿",
                ),
                any_of(
                    "喘不上气",
                    "上不来气",
                    "气短",
                    "憋气",
                    "喘",
                    "呼吸困难",
                    "胸口疼",
                    "胸痛",
                    "气促",
                ),
                30,
            ),
        ),
        ("ke xue", "ke chu xue"),
    ),
    Concept(
        "gi_bleeding",
        "疑似消化道出血",
        Urgency.emergency,
        "UGIB2019",
        (
            "呕血",
            "吐血",
            "吐雪",
            "便血",
            "黑便",
            "柏油",
            "沥青",
            "咖啡色的东西",
            "咖啡渣",
            near(any_of("吐", "呕"), any_of("血", "咖啡"), 6),
            near(any_of("大便", "拉", "便", "屎"), any_of("黑", "血", "红"), 4),
            near("吐", "红色"),
            any_of("vomiting blood", "black stool", "blood in stool", "一大滩血"),
            within(
                any_of("大便", "马桶", "便后"),
                any_of("全是血", "都是血", "一大滩", "一片血", "好多血"),
                12,
            ),
        ),
        ("tu xue", "ou xue", "hei bian", "bian xue", "la xue"),
        unless=r"^(?!.*(?<![没无不])(?<!没有)(?:头晕|心慌|眼前发黑|没劲|乏力|脸色发白|呕|吐|晕倒))"
        r".*(?:铁剂|补铁|硫酸亚铁|铋剂|猪血|鸭血)",
    ),
    Concept(
        "anaphylaxis",
        "疑似严重过敏或血管性水肿",
        Urgency.emergency,
        "ANAPH2019",
        (
            near(
                any_of("舌", "嘴唇", "唇", "嘴", "喉咙", "嗓子", "脸", "眼睑", "眼皮"),
                any_of("肿", "大了", "变大", "翻起来"),
                6,
            ),
            near(any_of("喉咙", "嗓子", "喉"), any_of("发紧", "紧", "堵", "掐", "卡", "锁"), 6),
            near(
                any_of("风团", "疹", "疙瘩", "荨麻疹", "痒"),
                any_of("喘", "呼吸困难", "嗓子", "喉咙", "头晕", "心慌", "憋"),
                20,
            ),
            "过敏性休克",
            "咽口水都困难",
            any_of("swollen", "swelling of", "throat closing", "hard to swallow", "can't swallow"),
        ),
        ("she tou zhong", "zui chun zhong", "hou long jin", "throat closing", "tongue swollen"),
    ),
    Concept(
        "hypoglycaemia",
        "疑似严重低血糖",
        Urgency.emergency,
        "GW2017",
        (
            within(
                any_of("胰岛素", "格列", "降糖", "血糖"),
                any_of(
                    "发抖", "手抖", "冒冷汗", "出冷汗", "冷汗", "大汗", "糊涂", "答非所问", "反应慢"
                ),
                40,
            ),
            any_of("饿得心慌", "心慌手抖"),
            "低血糖了",
        ),
    ),
    Concept(
        "hyperglycaemia_crisis",
        "疑似高血糖危象（酮症酸中毒/高渗）",
        Urgency.emergency,
        "GW2017",
        (
            "烂苹果",
            "酮症",
            "测不出来",
            "呼吸有股怪味",
            near("呼吸", any_of("又深又快", "好深", "深大")),
            near("喘气", "又深又快"),
        ),
    ),
    Concept(
        "hypertensive_emergency",
        "血压≥180/110 mmHg（高血压急症风险）",
        Urgency.emergency,
        "GW2017",
        ("血压爆表", "高压危象了"),
    ),
    Concept(
        "dangerous_heart_rate",
        "心率过快或过慢",
        Urgency.emergency,
        "NEWS2",
        (near("心跳", any_of("乱七八糟", "忽快忽慢"), 4),),
    ),
    Concept("low_spo2", "血氧饱和度过低", Urgency.emergency, "NEWS2", ()),
    Concept(
        "high_fever_vulnerable",
        "高热（老人、婴幼儿）或伴脑膜刺激征",
        Urgency.emergency,
        "FEVER",
        (
            within(
                any_of("发烧", "发热", "烧", "高热", "fa shao"),
                any_of(
                    "脖子硬",
                    "脖子发硬",
                    "颈部僵硬",
                    "低头都低不下",
                    "脖子也有点硬",
                    "红点",
                    "紫色的斑",
                    "出血点",
                    "瘀斑",
                    "不褪色",
                    "怕光",
                    near("脖子", "硬", 4),
                    "头一低就痛",
                ),
                30,
            ),
            within(
                r"(?:3[89]|4[0-2])(?:\.\d)?\s*度",
                any_of(
                    "怕光",
                    "畏光",
                    "看灯光",
                    "脖子硬",
                    "脖子发硬",
                    "颈部僵硬",
                    "不褪色",
                    "出血点",
                    "瘀斑",
                ),
                30,
            ),
            near(any_of("脖子", "颈"), any_of("硬", "僵"), 4) + rf"{gap(20)}(?:发烧|发热|烧)",
        ),
    ),
    Concept(
        "seizure",
        "抽搐发作",
        Urgency.emergency,
        "SEIZ",
        (
            "抽搐",
            "惊厥",
            "口吐白沫",
            "羊癫疯",
            "羊角风",
            "癫痫发作",
            "牙关咬紧",
            "两眼发直",
            "眼睛往上翻",
            near(any_of("全身", "手脚", "浑身"), any_of("抽", "抖个不停", "僵硬"), 4),
            any_of("抽了", "抽筋抽得", "连续抽", "抽了好", "抽得停不下来"),
            near(any_of("发烧", "高烧", "烧"), any_of("抽了", "抽起来", "抽筋", "抽风"), 8),
            any_of("四肢僵直", "牙关紧闭", "全身僵直"),
            within(any_of("孩子", "娃", "宝宝", "烧"), "抽风", 12),
            within(any_of("癫痫", "发作", "抽"), any_of("没醒过来", "一直没醒", "不醒"), 20),
            within(
                any_of("僵", "抖"),
                any_of("尿了裤子", "尿了", "眼睛往一边斜", "眼睛往上翻", "口吐"),
                24,
            ),
            near(any_of("全身", "浑身", "整个人"), any_of("在抖", "抖个不停", "抽"), 6),
            within("抽动", any_of("停不下来", "停不下", "一直"), 12),
            near("一直", "抽动", 8),
        ),
        ("chou chu", "kou tu bai mo", "quan shen dou zai chou"),
    ),
    Concept(
        "pregnancy",
        "妊娠期出血、胎动减少或破水",
        Urgency.emergency,
        "OBS",
        (
            "见红",
            "羊水破",
            "破水",
            "流了好多水",
            near("胎动", any_of("少", "不动", "没动", "感觉不到", "减少", "没有了", "不太动"), 8),
            near(any_of("感觉不到", "没有", "没感觉到", "没感到"), "胎动", 4),
            within(
                any_of("怀孕", "孕"), any_of("流水", "流清水", "湿了一大片", "往外流", "破水"), 30
            ),
            within(
                any_of("孕", "胎", "宝宝", "肚子里"),
                any_of("不怎么踢", "不踢", "不怎么动", "动得少", "动得比平时少", "才动了"),
                30,
            ),
            within(
                r"\d+\s*周",
                any_of("流水", "湿了一大片", "往外流", "往下流", "破水", "出血", "见红"),
                30,
            ),
            any_of("没胎动", "没有胎动", "胎动没了", "胎动停了"),
            within(any_of("怀孕", "孕", "阴道"), any_of("出血", "流血", "见红"), 30),
            within(
                any_of("怀孕", "孕"),
                any_of("头痛眼花", "冒金星", "眼花", "头痛得厉害", "看东西模糊"),
                30,
            ),
            within(any_of("怀孕", "孕"), any_of("一阵阵发紧", "发硬", "硬邦邦"), 30),
        ),
        ("jian hong",),
    ),
    Concept(
        "acute_abdomen",
        "急腹症（剧烈腹痛）",
        Urgency.emergency,
        "ABD",
        (
            near(
                any_of("肚子", "腹", "肚", "胃"),
                any_of(
                    "剧痛",
                    "绞痛",
                    "刀割",
                    "疼得直不起",
                    "疼得在床上",
                    "疼得满头大汗",
                    "硬得像木板",
                    "硬硬的",
                    "疼得弯着腰",
                    "疼得厉害",
                    "越来越疼",
                    "一阵比一阵",
                    "硬邦邦",
                    "鼓得老高",
                    "动不了",
                    "特别疼",
                    "痛到",
                    "直不起腰",
                    "要命",
                    "受不了",
                    "碰都不能碰",
                    "越来越重",
                ),
                12,
            ),
            any_of("打滚", "蜷成一团", "缩成一团"),
            within(
                any_of("不排气", "没放屁", "不能排气", "没拉没放屁", "不放屁"),
                any_of("吐", "呕", "胀", "疼", "痛"),
                20,
            ),
            within(
                any_of("吐", "呕", "胀痛"), any_of("不排气", "没放屁", "不能排气", "不放屁"), 20
            ),
            within(
                any_of("肚子", "腹", "肚脐"),
                any_of(
                    "一阵比一阵",
                    "弯着腰",
                    "走不了路",
                    "止痛药不管用",
                    "越来越疼",
                    "越来越重",
                    "硬邦邦",
                    "碰都不能碰",
                    "硬得像",
                    "冒冷汗",
                    "满头大汗",
                    "一动就痛",
                    "不敢动",
                    "松手更痛",
                    "转到右下",
                ),
                40,
            ),
            within("绞痛", any_of("满头大汗", "大汗", "吐", "尿是红的", "打滚"), 30),
            "反跳痛",
        ),
        ("du zi te bie teng", "du zi ju tong", "teng de zhi bu qi yao"),
    ),
    Concept(
        "sudden_vision_loss",
        "突发视力丧失或复视",
        Urgency.emergency,
        "EYE",
        (
            near(
                any_of("眼", "眼睛", "视力"),
                any_of("看不见", "看不到", "失明", "黑了", "一片红黑", "黑幕", "帘子"),
                10,
            ),
            within(
                any_of("突然", "忽然", "一下子"),
                any_of(
                    "看不见", "看不清", "看东西都是两个", "重影", "少了一半", "黑幕", "失明", "模糊"
                ),
                16,
            ),
            any_of("黑幕", "帘子", "黑纱", "幕布", "遮住了一半"),
            within(
                any_of("一只眼", "单眼", "左眼", "右眼", "眼前"),
                any_of("看不清", "看不见", "一片红", "一片黑", "看不到"),
                30,
            ),
            near(any_of("眼睛", "眼"), "瞎", 4),
            "一点光都看不到",
            within(any_of("黑点", "闪光"), any_of("看不到", "看不见", "遮住"), 30),
        ),
        ("yan jing tu ran kan bu jian", "kan bu jian le"),
    ),
    Concept(
        "heart_failure",
        "疑似急性心力衰竭",
        Urgency.emergency,
        "HF2018",
        (
            "(?:" + any_of("躺不平", "躺不下", "不能平卧", "不能平躺", "躺下就喘", "躺下") + ")"
            r"(?!来|休息)",
            near(any_of("坐起来", "坐着"), any_of("才能喘", "喘气", "才能睡", "睡"), 6),
            "憋醒",
            "粉红色",
            "泡沫痰",
            "泡泡痰",
            "垫了三个",
            "垫三个枕头",
            within(any_of("夜里", "半夜", "晚上", "睡觉"), any_of("憋", "喘"), 8)
            + rf"[^{_STOP}]{{0,12}}坐起来",
            within(
                near(any_of("体重", "重了", "胖了", "涨了", "长了"), any_of("公斤", "斤", "kg"), 8),
                any_of("喘", "肿", "躺"),
                20,
            ),
            within(
                any_of("肿"),
                near(any_of("体重", "重了", "胖了"), any_of("公斤", "斤", "kg"), 8),
                24,
            ),
            near(any_of("走几步", "走两步", "上厕所都", "走到卫生间"), any_of("喘", "歇"), 8),
        ),
        ("tang xia jiu chuan", "zhi neng zuo zhe shui"),
    ),
    Concept(
        "oliguria",
        "尿量极少或无尿",
        Urgency.emergency,
        "AKI",
        (
            near(
                any_of("一天", "一整天", "整整一天", "从昨天到现在", "今天"),
                any_of(
                    "没怎么尿",
                    "没尿",
                    "没有尿",
                    "没有小便",
                    "没怎么小便",
                    "尿了几滴",
                    "一滴都没",
                    "尿了一点点",
                    "才尿了一小杯",
                ),
                12,
            ),
            near("尿", any_of("越来越少", "特别少", "很少", "不到"), 6),
            "无尿",
            "尿不出来",
            within(
                any_of("一天", "一整天", "整天", "今天", "昨天", "到现在", "24小时"),
                any_of(
                    "没小便",
                    "没尿",
                    "没有尿",
                    "没有小便",
                    "尿都没",
                    "一泡尿都没",
                    "小半杯",
                    "一小杯",
                    "几滴",
                    "每次一点点",
                    "不到100毫升",
                    "不到200毫升",
                    "尿了一点点",
                    "没什么尿",
                    "没小便",
                    "一点尿",
                ),
                30,
            ),
        ),
        ("mei niao", "yi tian dou mei niao"),
    ),
    Concept(
        "suicide_or_overdose",
        "自杀念头或药物过量",
        Urgency.emergency,
        "SUIC",
        (
            "不想活",
            "活着没意思",
            "活着没意义",
            "活着太累",
            "活著太累",
            "活着好累",
            "活着就是受罪",
            "一了百了",
            "想死",
            "死了算了",
            "自杀",
            "轻生",
            "寻死",
            "遗书",
            "生不如死",
            "结束这一切",
            "结束生命",
            "跳下去",
            "跳楼",
            "割腕",
            "划自己",
            "再也不醒",
            near(
                any_of(
                    "一瓶",
                    "一整瓶",
                    "一盒",
                    "一整板",
                    "一板",
                    "全部",
                    "一把",
                    "攒的",
                    "好几片",
                    "十几片",
                    "20多片",
                    "二十多片",
                    "几十片",
                ),
                any_of("吃了", "都吃", "全吃", "吞", "吃下"),
                10,
            ),
            near(
                any_of("吃了", "吞了", "吃下", "误吞", "误服", "都吃了"),
                any_of("一整板", "一瓶", "一盒", "十几片", "20多片", "好几片", "几十片"),
                10,
            ),
            any_of("吃多了药", "药吃多了", "误吞", "误服", "全打了", "一下子全", "一口气吞"),
            any_of("又吃了一遍", "吃了两遍", "吃了3天的药", "三天的药都吃了", "多吃了", "多打了"),
            near("找", any_of("老伴了", "他了", "她了"), 4) + "|想去找",
            within(any_of("一把", "一瓶", "全部", "攒的", "都"), "安眠药", 6),
            "撑不下去",
            "活不下去",
            within(
                any_of("胰岛素", "药"),
                any_of(
                    "打了两遍",
                    "打了两次",
                    "吃了两遍",
                    "打重了",
                    "当糖吃",
                    "一次性全吃",
                    "全吃了",
                    "全部吃了",
                ),
                20,
            ),
            within(
                any_of("一个礼拜的", "一周的", "几天的", "一个月的"),
                any_of("全吃", "一次吃", "一起吃了", "一次性"),
                16,
            ),
            within(
                any_of("吃了", "吞了"),
                any_of("好几颗", "一大把", "十几颗", r"\d+\s*[多几]?\s*[片颗粒]", "几片", "几颗"),
                12,
            ),
            within(
                any_of("孩子", "孙子", "孙女", "宝宝", "娃", "小孩"),
                any_of(
                    within(
                        any_of(
                            "爷爷的",
                            "奶奶的",
                            "外公的",
                            "外婆的",
                            "姥姥的",
                            "姥爷的",
                            "我的",
                            "大人的",
                            "爸爸的",
                            "妈妈的",
                            "老人的",
                        ),
                        any_of("吃了", "吞了"),
                        16,
                    ),
                    "误吞",
                    "误服",
                    "偷吃",
                    "翻出",
                    "当糖",
                    "不知道吞了",
                    "不知道吃了",
                ),
                30,
            ),
            near(any_of("手腕", "手上", "胳膊"), any_of("划了", "割了", "划伤", "割伤"), 6),
            within("安眠药", any_of("都吃", "全吃", "吃了", "一把"), 8),
        ),
        (
            "bu xiang huo",
            "xiang si",
            "zi sha",
            "don't want to live",
            "kill myself",
            "suicide",
            "overdose",
        ),
        timeless=True,
    ),
    Concept(
        "syncope",
        "晕厥",
        Urgency.emergency,
        "SYNC",
        (
            "晕倒",
            "昏倒",
            "晕厥",
            "栽倒",
            "不省人事",
            "失去知觉",
            "晕过去",
            "昏过去",
            "倒地",
            "人事不知",
            "没知觉",
            "没了知觉",
            "没意识",
            "失去意识",
            "栽下去",
            "栽倒",
            near(SUDDEN, "倒下", 8),
            within("眼前一黑", any_of("不知道了", "啥也不知道", "躺在地上", "倒"), 16),
            within("晕", any_of("躺地上", "躺在地上", "倒地上"), 12),
            "fainted",
            "passed out",
            "collapsed",
            within(
                any_of("晕", "昏", "眼前一黑", "发黑"),
                any_of("过去", "倒在", "倒了", "摔", "在地上"),
                12,
            ),
        ),
        ("yun dao", "hun dao", "fainted", "passed out"),
    ),
    Concept(
        "altered_consciousness",
        "意识或行为改变",
        Urgency.emergency,
        "CONS",
        (
            "叫不醒",
            "叫不应",
            "叫他不太应",
            "叫不太醒",
            "意识不清",
            "意识模糊",
            "神志不清",
            "昏迷",
            "胡言乱语",
            "说胡话",
            "颠三倒四",
            "答非所问",
            "不认识人",
            "不认识我",
            "连我都不认识",
            "迷迷糊糊",
            "糊涂了",
            "一直昏睡",
            "嗜睡",
            "呆呆的",
            near(any_of("问", "问话", "叫"), any_of("答不上来", "半天才应", "不知道"), 10),
            "反应很慢",
            "反应慢",
            "分不清白天黑夜",
            "不知道自己在哪",
            "不认得人",
            "confused",
            "昏昏沉沉",
            "半天才睁眼",
            "前言不搭后语",
            "糊里糊涂",
            "问话不答",
            "眼神发直",
            near("突然", "傻傻的", 4),
        ),
        ("jiao bu xing", "hun mi"),
    ),
    Concept(
        "respiratory_distress",
        "严重呼吸困难",
        Urgency.emergency,
        "RESP",
        (
            near(any_of("嘴唇", "嘴", "脸", "唇"), any_of("紫", "乌青", "青紫", "发绀"), 4),
            within(
                any_of("喘", "憋"),
                any_of(
                    "说不了话",
                    "说不出话",
                    "一个字",
                    "两个字",
                    "分好几次说",
                    "躺不下",
                    "肩膀",
                    "脸都紫",
                    "不接下气",
                    "凹进去",
                ),
                16,
            ),
            "上气不接下气",
            "大口喘气",
            "呼噜呼噜",
            "说不了整句话",
            "打字都费劲",
            "透不过来",
            "憋得厉害",
            "呼吸好快",
            "呼吸很快",
            near(any_of("嘴唇", "嘴"), "青", 4),
            within(any_of("喷了", "吸了", "用了"), any_of("不管用", "没缓解", "都没用"), 16),
            within("一句话", any_of("停好几次", "分好几次", "说不完"), 12),
            any_of(
                "喘不上气",
                "喘不过气",
                "呼吸困难",
                "上不来气",
                "透不过气",
                "喘不上来",
                "呼吸好辛苦",
                "喘气很急",
                "喘得厉害",
                "喘得很厉害",
            ),
            near(any_of("吸了", "用了"), any_of("不管用", "都没缓解", "没缓解"), 16),
        ),
        ("chuan bu shang qi", "hu xi kun nan", "can't breathe"),
    ),
)

CONCEPT_BY_CODE = {concept.code: concept for concept in CONCEPTS}

# --- the same patterns for pinyin typed by the patient -------------------------------------
# Each pattern is rewritten over the pinyin view: a character becomes its reading and a space,
# a gap of n characters becomes n syllables, and the negation guards their pinyin.
_GAP_CLAUSE = re.compile(r"\(\?:\(\?!\[不没无未\]\)\[\^[^\]]*\]\)\{0,(\d+)\}")
_GAP_SENTENCE = re.compile(r"\[\^[^\]]*\]\{0,(\d+)\}(\??)")
_GUARD = "(?<!没有)(?<![不没无未])"
_PINYIN_GUARD = "(?<!mei you )(?<!bu )(?<!mei )(?<!wu )(?<!wei )"


def pinyin_pattern(pattern: str) -> str:
    from followup.triage.normalise import reading_of

    pattern = _GAP_CLAUSE.sub(
        lambda m: f"(?:(?!bu |mei |wu |wei )[a-z'|]+ ){{0,{m.group(1)}}}", pattern
    )
    pattern = _GAP_SENTENCE.sub(lambda m: f"(?:[a-z'|]+ ){{0,{m.group(1)}}}{m.group(2)}", pattern)
    pattern = pattern.replace(_GUARD, _PINYIN_GUARD).replace("(?!来|休息)", "")
    out = []
    for ch in pattern:
        reading = reading_of(ch) if "\u4e00" <= ch <= "\u9fff" else None
        out.append(f"{reading} " if reading else ch)
    return "(?<= )(?:" + "".join(out) + ")"

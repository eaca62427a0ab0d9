"""Whether a sign found in a message is the patient's, now: not denied ("没有胸痛"), not over
("上个月胸口疼过一次…现在不疼了"), not a question about illness in general ("中风有哪些前兆").

A message is cut into clauses at punctuation and at words that turn a sentence ("就是", "但是"),
so that "我没事就是胸口痛" keeps its chest pain. Denial is a negation word right before the sign
(or before a short list of signs: "没有胸痛、气短"); "不停地吐血" and "吃药不管用胸口痛" are not
denials. A clause is in the past when it, or the clause before it in the same sentence, names a
time gone by and it has no word of now (刚才, 今天, 突然, 一直, 最近…): "刚刚手麻了二十分钟，
现在好了" is a warning sign today, "去年中风过" is history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"[。！？!?；;\n]+")
# Voice input and hurried typing separate clauses with a space.
_CLAUSE_END = re.compile(
    r"[。！？!?；;\n，,、~～…]+|\s{2,}|(?<=[\u4e00-\u9fff\d%])\s+(?=[\u4e00-\u9fff\d])"
    r"|就是|但是|可是|不过|只是|然后"
)
NEGATION = re.compile(
    r"(?:没有|没|无|不|未|否认|并无|从未|从没)(?:再|有|出现|感到|觉得|任何|明显|什么|怎么)?"
    r"(?:[\u4e00-\u9fff]{1,4}[、和或及与])*$"
)
PINYIN_NEGATION = re.compile(r"(?:mei you|mei|bu|wu|wei|no|not|without) $")
PAST = re.compile(
    r"上个月|上月|去年|前年|以前|之前|上次|上回|曾经|\d+年前|几年前|多年前|小时候|年轻时|上周|"
    r"上星期|前几天|前些天|前阵子|前天|那次|那回|那时|当时|住过院|出院|过年|春节|过一次|过几次|"
    r"到过"
)
# Long-standing: a sign that has lasted years is not today's emergency, unless something new
# is said of it in its clause.
CHRONIC = re.compile(r"[\d一二两三四五六七八九十几]+年了|几年了|好几年|这么多年|多年|后遗症")
ACUTE = re.compile(
    r"今天|今早|今晚|昨晚|刚才|刚刚|刚|突然|忽然|这两天|这几天|这会|半夜|到现在|又|越来越|正在|马上|此刻"
)
NOW = re.compile(ACUTE.pattern + r"|现在还|还是|一直|最近")
# Words that make an urgent sign an emergency.
SUDDEN = re.compile(r"突然|忽然|猛地|一下子|刚才|刚刚")
# Words that make a whole sentence a general question, and words that make one clause one.
GENERAL = re.compile(
    r"如果|假如|万一|要是|假设|怎么急救|预防|科普|了解一下|想了解|想学|前兆|有哪些|听说|到时候|怎么区分"
)
GENERAL_CLAUSE = re.compile(
    r"有人|别人|是什么|什么表现|什么症状|什么感觉|会不会|多少算|算不算|怎么回事|会遗传|多少次算|算正常"
)


@dataclass(frozen=True)
class Clause:
    start: int
    end: int
    text: str
    past: bool
    general: bool


def clauses(text: str) -> list[Clause]:
    out: list[Clause] = []
    sentence_start = 0
    for sentence_match in [*_SENTENCE_END.finditer(text), None]:
        sentence_end = sentence_match.start() if sentence_match else len(text)
        sentence = text[sentence_start:sentence_end]
        sentence_general = bool(GENERAL.search(sentence))
        past_running = chronic_running = False
        pos = 0
        for match in [*_CLAUSE_END.finditer(sentence), None]:
            end = match.start() if match else len(sentence)
            if end > pos:
                body = sentence[pos:end]
                now = bool(NOW.search(body))
                past = not now and (bool(PAST.search(body)) or past_running)
                past_running = past
                acute = bool(ACUTE.search(body))
                chronic = bool(CHRONIC.search(body))
                past = past or ((chronic or chronic_running) and not acute)
                chronic_running = chronic and not acute
                general = sentence_general or bool(GENERAL_CLAUSE.search(body))
                out.append(Clause(sentence_start + pos, sentence_start + end, body, past, general))
            pos = match.end() if match else len(sentence)
        if sentence_match is None:
            break
        sentence_start = sentence_match.end()
    return out


def sentence_of(text: str, index: int) -> str:
    starts = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= index]
    begin = starts[-1] if starts else 0
    end_match = _SENTENCE_END.search(text, index)
    return text[begin : end_match.start() if end_match else len(text)]


def clause_at(found: list[Clause], index: int) -> Clause | None:
    for clause in found:
        if clause.start <= index < clause.end:
            return clause
    return None


def denied(text: str, clause: Clause | None, start: int) -> bool:
    """A negation word ends the part of the clause before the sign."""
    begin = clause.start if clause else max(0, start - 8)
    return bool(NEGATION.search(text[max(begin, start - 14) : start]))


# "排队排得我要吐血了", "唠叨得我快晕倒了": what people say of a bad day, not a sign.
FIGURATIVE = re.compile(r"(?:得我?|让我|把我)(?:快要|要|快)$|气得$|累得$|忙得$|笑得$")


def figurative(text: str, start: int) -> bool:
    return bool(FIGURATIVE.search(text[max(0, start - 6) : start]))


def pinyin_denied(view: str, start: int) -> bool:
    return bool(PINYIN_NEGATION.search(view[max(0, start - 10) : start + 1]))

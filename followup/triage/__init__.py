"""Red-flag triage: signs that end the online path and send the patient to a doctor in person.

One engine for every door (the visit request, messages during a visit, the bot, home
readings): concepts with the ways patients say them (lexicon.py), numbers in free text
(numbers.py), denial, time and general questions (context.py), thresholds with their sources
(engine.py). `python -m followup.triage.evaluate` measures it against the corpus in
followup/triage_corpus/.
"""

from followup.triage.engine import read_message, readings_in
from followup.triage.engine import structured_vitals as vital_flags
from followup.triage.model import (
    SYMPTOM_BY_CODE,
    SYMPTOMS,
    RedFlag,
    Symptom,
    Triage,
    UnknownSymptom,
    Urgency,
    Vitals,
    assess,
)

__all__ = [
    "SYMPTOMS",
    "SYMPTOM_BY_CODE",
    "RedFlag",
    "Symptom",
    "Triage",
    "UnknownSymptom",
    "Urgency",
    "Vitals",
    "assess",
    "read_message",
    "readings_in",
    "vital_flags",
]

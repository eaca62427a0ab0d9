"""followup's outbox senders: referrals to the hospital platform, visits to supervision."""

from __future__ import annotations

from core import outbox
from followup.services import consultations, referrals, visit_records


def senders() -> dict[str, outbox.Sender]:
    return {
        referrals.PLATFORM_CHANNEL: referrals.send_to_platform,
        consultations.SUPERVISION_CHANNEL: visit_records.send_to_supervision,
    }

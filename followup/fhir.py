"""The hand-off to the hospital platform as FHIR R4 resources: a transaction Bundle with the
Patient, the Condition and the ServiceRequest for an in-person visit, built and validated with
fhir.resources (its R4B models: Patient, Condition and ServiceRequest are as in R4)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle

from followup.models import Referral
from followup.triage import Urgency
from identity.models import Person

ID_NUMBER_SYSTEM = "urn:oid:2.16.156.10011.1.1"  # 居民身份证号码 (WS 364 identifier OID)
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
OUR_SYSTEM = "urn:hospital:internet-hospital"
PRIORITY = {Urgency.emergency: "stat", Urgency.urgent: "urgent", Urgency.routine: "routine"}


def referral_bundle(referral: Referral, person: Person, disease_name: str | None) -> dict[str, Any]:
    patient_ref, condition_ref = (
        f"urn:uuid:patient-{person.id}",
        f"urn:uuid:condition-{referral.id}",
    )
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": ID_NUMBER_SYSTEM, "value": person.id_number}],
        "name": [{"text": person.name}],
        "gender": person.sex.value,
        "birthDate": person.birth_date.isoformat(),
        "telecom": [{"system": "phone", "value": person.phone}] if person.phone else [],
    }
    # A conditional create: the platform makes the Patient only if no Patient has this ID
    # number yet, so a person referred many times stays one record there.
    entries: list[dict[str, Any]] = [
        _entry(
            patient_ref, patient, if_none_exist=f"identifier={ID_NUMBER_SYSTEM}|{person.id_number}"
        )
    ]
    reason_refs = []
    if referral.diagnosis_code:
        condition = {
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": "active"}]},
            "code": {
                "coding": [{"system": ICD10_SYSTEM, "code": referral.diagnosis_code}],
                "text": disease_name or referral.diagnosis_code,
            },
            "subject": {"reference": patient_ref},
        }  # fmt: skip
        entries.append(_entry(condition_ref, condition))
        reason_refs.append({"reference": condition_ref})
    service_request = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": OUR_SYSTEM + ":referral", "value": str(referral.id)}],
        "status": "active",
        "intent": "order",
        "priority": PRIORITY[referral.urgency],
        "category": [{"text": "线下就诊转诊"}],
        "code": {"text": f"{referral.department}门诊就诊"},
        "subject": {"reference": patient_ref},
        "authoredOn": referral.created_at.isoformat(),
        "reasonCode": [{"text": referral.reason}],
        "reasonReference": reason_refs,
        "note": [{"text": "危险信号：" + "、".join(referral.red_flags)}]
        if referral.red_flags
        else [],
    }
    entries.append(_entry(f"urn:uuid:servicerequest-{referral.id}", service_request))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    # Validation: raises if any resource does not conform to the FHIR model.
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


def _entry(
    full_url: str, resource: dict[str, Any], if_none_exist: str | None = None
) -> dict[str, Any]:
    request = {"method": "POST", "url": resource["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return {
        "fullUrl": full_url,
        "resource": {k: v for k, v in resource.items() if v not in ([], None)},
        "request": request,
    }

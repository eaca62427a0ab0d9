"""Tencent Cloud 人脸核身 (FaceId, API 2018-03-01) through Tencent's own SDK.

Why this provider: it compares a liveness-checked face with the photo of the ID number held by
the public-security source (公安权威库), it runs inside WeChat (H5 and mini-program) where our
patients already are, and its API is signed (TC3-HMAC-SHA256) and answered server to server,
so the result is never carried by the patient's phone. DetectAuth opens a check for a name
and ID number and returns the page of the liveness step; GetDetectInfoEnhanced returns the
outcome (ErrCode 0 = passed), the name and number it was for, the similarity and the best
frame. FACEID_API_BASE points the SDK at the service ("faceid.tencentcloudapi.com") or, in
tests and the demo, at the fake (fake_server.py)."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301 import faceid_client, models

from core.settings import Settings
from identity.verification.interface import (
    ProviderUnavailable,
    VerificationResult,
    VerificationStarted,
)

PENDING_CODES = {None, -1}


class TencentFaceId:
    name = "tencent-faceid"

    def __init__(self, settings: Settings) -> None:
        base = settings.faceid_api_base
        parts = urlsplit(base if "://" in base else f"https://{base}")
        profile = ClientProfile(
            httpProfile=HttpProfile(
                protocol=parts.scheme,
                endpoint=parts.netloc,
                reqTimeout=int(settings.faceid_timeout_seconds),
            )
        )
        self.rule_id = settings.faceid_rule_id
        self.client = faceid_client.FaceidClient(
            credential.Credential(settings.faceid_secret_id, settings.faceid_secret_key),
            settings.faceid_region,
            profile,
        )

    def start(self, name: str, id_number: str, redirect_url: str) -> VerificationStarted:
        request = models.DetectAuthRequest()
        params = {"RuleId": self.rule_id, "IdCard": id_number, "Name": name,
                  "RedirectUrl": redirect_url}  # fmt: skip
        request.from_json_string(json.dumps(params))
        try:
            response = self.client.DetectAuth(request)
        except TencentCloudSDKException as exc:
            raise ProviderUnavailable(f"人脸核身服务错误：{exc.code}") from exc
        return VerificationStarted(token=response.BizToken, url=response.Url)

    def result(self, token: str) -> VerificationResult:
        request = models.GetDetectInfoEnhancedRequest()
        params = {"BizToken": token, "RuleId": self.rule_id, "InfoType": "0",
                  "BestFramesCount": 1}  # fmt: skip
        request.from_json_string(json.dumps(params))
        try:
            response = self.client.GetDetectInfoEnhanced(request)
        except TencentCloudSDKException as exc:
            raise ProviderUnavailable(f"人脸核身服务错误：{exc.code}") from exc
        text = response.Text
        code = text.ErrCode if text is not None else None
        photo = None
        if response.BestFrame is not None and response.BestFrame.BestFrame:
            try:
                photo = base64.b64decode(response.BestFrame.BestFrame, validate=True)
            except (binascii.Error, ValueError):
                photo = None
        similarity = None
        if text is not None and text.Sim:
            try:
                similarity = float(text.Sim)
            except ValueError:
                similarity = None
        return VerificationResult(
            finished=code not in PENDING_CODES,
            passed=code == 0,
            code=str(code),
            message=(text.ErrMsg if text is not None else "") or "",
            name=(text.Name if text is not None else "") or "",
            id_number=(text.IdCard if text is not None else "") or "",
            similarity=similarity,
            live_photo=photo,
        )

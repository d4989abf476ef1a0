"""``s3://bucket/prefix`` through boto3 and its standard configuration (credentials chain, region,
``AWS_ENDPOINT_URL_S3``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ..config import FetchPolicy
from ..errors import MissingAsset, StoreError
from .deadline import CHUNK, DEFAULT_POLICY, Deadline, TransientError, copy_before, stream_failure

DENIED = ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken")
BUSY = ("SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable")


class S3Source:
    def __init__(self, bucket: str, prefix: str = "", client=None, policy: FetchPolicy = DEFAULT_POLICY):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"bucket s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = client
        self.policy = policy

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            # boto3 reads credentials, region and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL itself.
            # One attempt per call: ModelStore retries, within its deadline.
            self._client = boto3.session.Session().client(
                "s3",
                config=Config(
                    retries={"mode": "standard", "total_max_attempts": 1},
                    connect_timeout=self.policy.connect_timeout,
                    read_timeout=self.policy.read_timeout,
                ),
            )
        return self._client

    def object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def download(self, key: str, url: str | None, out: BinaryIO, on_bytes: Callable[[int], None], deadline: Deadline) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        object_key = self.object_key(key)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=object_key)["Body"]  # one connection, streamed
            try:
                copy_before(deadline, body, body.iter_chunks(CHUNK), out, on_bytes)
            finally:
                body.close()
        except NoCredentialsError as exc:
            raise StoreError(
                f"{key} could not be read from {self.description}: no AWS credentials were found; set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
            ) from exc
        except ClientError as exc:
            raise self._answer(key, object_key, exc) from exc
        except (BotoCoreError, OSError, ValueError, AttributeError) as exc:  # no connection, timeouts, and the watchdog closing the body under a read
            raise stream_failure(exc, deadline) from exc

    def _answer(self, key: str, object_key: str, exc) -> Exception:
        """What S3's error answer means: a try again, a missing object, or one sentence."""
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code.startswith("5") or code in BUSY:
            return TransientError(code)
        if code in ("404", "NotFound") and not self._bucket_exists():
            code = "NoSuchBucket"
        if code == "NoSuchBucket":
            hint = f"the bucket {self.bucket} does not exist; check STYLIZE_MODEL_STORE (and AWS_ENDPOINT_URL_S3 for a non-AWS endpoint)"
        elif code in ("404", "NoSuchKey", "NotFound"):
            return MissingAsset(
                f"{key} could not be read from {self.description}: s3://{self.bucket}/{object_key} does not exist; publish the models there (python -m stylize publish) or fix the prefix."
            )
        elif code in DENIED:
            hint = "access was denied; check the AWS credentials and that their policy allows s3:GetObject on the models prefix"
        else:
            hint = f"S3 answered {code or exc}"
        return StoreError(f"{key} could not be read from {self.description}: {hint}.")

    def _bucket_exists(self) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            return str(exc.response.get("Error", {}).get("Code", "")) not in ("404", "NoSuchBucket", "NotFound")
        return True

"""Hosting as code: the templates lint clean, the bucket template deploys (through moto's
CloudFormation API) with the promised settings, publishing is idempotent and refuses bad files,
the page reads what was published, and the container file says what it should."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import dockerfile
import pytest
import yaml

from stylize import Settings, StoreError, Stylizer
from stylize.engine import LiteRTEngine
from stylize.publish import Publisher
from stylize.store import ModelStore

from .conftest import ROOT, free_port

TEMPLATES = sorted((ROOT / "infra").glob("*.yaml"))


def cfn_yaml(path: Path) -> dict:
    """Load a CloudFormation template, keeping intrinsic tags (!Ref, !Sub …) as plain values."""

    class Loader(yaml.SafeLoader):
        pass

    def tag(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        return {suffix: loader.construct_mapping(node, deep=True)}

    Loader.add_multi_constructor("!", tag)
    return yaml.load(path.read_text(), Loader=Loader)


def test_templates_lint_clean():
    assert {p.name for p in TEMPLATES} == {"bucket.yaml", "service.yaml"}
    cfn_lint = Path(sys.executable).with_name("cfn-lint")  # the venv's own
    lint = subprocess.run([str(cfn_lint), *map(str, TEMPLATES)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_app_policy_only_reads_the_models_prefix():
    policy = cfn_yaml(ROOT / "infra" / "bucket.yaml")["Resources"]["AppReadPolicy"]["Properties"]["PolicyDocument"]
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    for action in actions:
        assert not any(word in action for word in ("Put", "Delete", "*", "Write", "Create", "Restore")), action
    read = next(s for s in policy["Statement"] if s["Action"] == ["s3:GetObject"])
    assert read["Resource"] == {"Sub": "${ModelBucket.Arn}/${ModelsPrefix}/*"}
    listing = next(s for s in policy["Statement"] if s["Action"] == ["s3:ListBucket"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [{"Sub": "${ModelsPrefix}/*"}]}}


@pytest.fixture(scope="module")
def stack(aws_env):
    """The bucket template deployed through moto's CloudFormation API."""
    cfn = boto3.client("cloudformation")
    name = f"models-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(StackName=name, TemplateBody=(ROOT / "infra" / "bucket.yaml").read_text(), Parameters=[{"ParameterKey": "ModelsPrefix", "ParameterValue": "v1"}])
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    return outputs


def test_bucket_template_settings():
    """What moto's CloudFormation does not apply (public-access block, versioning, lifecycle, the
    bucket policy) is checked in the template itself; the deployed bucket is checked below."""
    resources = cfn_yaml(ROOT / "infra" / "bucket.yaml")["Resources"]
    bucket = resources["ModelBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "NoncurrentVersionDays"}}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = resources["ModelBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "ModelBucket"}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [{"GetAtt": "ModelBucket.Arn"}, {"Sub": "${ModelBucket.Arn}/*"}]


def test_deployed_bucket_is_encrypted(stack):
    s3 = boto3.client("s3")
    bucket = stack["BucketName"]
    assert stack["ModelStore"] == f"s3://{bucket}/v1"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_deployed_app_policy_grants_no_write(stack):
    iam = boto3.client("iam")
    arn = stack["AppPolicyArn"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    actions = {a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    assert all(stack["BucketName"] in json.dumps(s["Resource"]) for s in document["Statement"])


def publish(source: Path, store: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stylize", "publish", "--from", str(source), "--to", store], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_publish_then_fetch_then_publish_again(stack, shared, manifest, tmp_path):
    store = stack["ModelStore"]
    first = publish(shared, store)
    assert first.returncode == 0, first.stderr
    available = [a for a in manifest.assets if (shared / a.key).is_file()]
    assert f"{len(available) + 1} uploaded, 0 skipped, 0 refused, 1 not in the folder" in first.stdout  # +1: the style vectors

    s3 = boto3.client("s3")
    bucket = stack["BucketName"]
    predict = manifest.predict
    head = s3.head_object(Bucket=bucket, Key=f"v1/{predict.key}", ChecksumMode="ENABLED")
    assert head["Metadata"]["sha256"] == predict.sha256
    assert base64.b64decode(head["ChecksumSHA256"]).hex() == predict.sha256

    # the page's store reads it back, verified
    fetched = ModelStore.from_spec(store, tmp_path / "cache").fetch_many(manifest.required())
    assert len(fetched) == 36

    second = publish(shared, store)
    assert second.returncode == 0
    assert f"0 uploaded, {len(available) + 1} skipped, 0 refused" in second.stdout
    versions = s3.list_object_versions(Bucket=bucket, Prefix=f"v1/{predict.key}")["Versions"]
    assert len(versions) == 1, "a second publish writes no new version"


def test_tampered_file_is_refused(stack, shared, manifest, tmp_path):
    source = tmp_path / "store"
    shutil.copytree(shared / "models", source / "models")
    shutil.copytree(shared / "styles", source / "styles")
    tampered = source / "styles" / "style3.jpg"
    tampered.chmod(0o644)
    tampered.write_bytes(tampered.read_bytes() + b"extra")
    ran = publish(source, stack["ModelStore"].replace("/v1", "/tampered"))
    assert ran.returncode == 1
    (refusal,) = [line for line in ran.stdout.splitlines() if line.startswith("refused")]
    assert "styles/style3.jpg" in refusal and "the manifest says" in refusal
    with pytest.raises(boto3.client("s3").exceptions.ClientError):
        boto3.client("s3").head_object(Bucket=stack["BucketName"], Key="tampered/styles/style3.jpg")


def test_publish_refuses_non_s3_targets(manifest, shared):
    with pytest.raises(StoreError, match="not an S3 address"):
        Publisher(manifest, shared, str(shared), LiteRTEngine())


def test_page_uses_published_style_vectors(stack, shared, tmp_path):
    publish(shared, stack["ModelStore"])
    with_vectors = Stylizer.from_settings(Settings(model_store=stack["ModelStore"], cache_dir=tmp_path / "a"))
    with_vectors.prepare()
    assert with_vectors.vectors.computed == 0 and with_vectors.vectors.model.runs == 0
    # …and computes them where none were published (the folder store has none)
    without = Stylizer.from_settings(Settings(model_store=str(shared), cache_dir=tmp_path / "b"))
    without.prepare()
    assert without.vectors.computed == 26
    style = with_vectors.style("style19")
    assert (with_vectors.vectors.vector(style) == without.vectors.vector(style)).all()


def test_dockerfile_is_slim_non_root_runtime_only():
    commands = dockerfile.parse_file(str(ROOT / "Dockerfile"))
    by_cmd = {}
    for c in commands:
        by_cmd.setdefault(c.cmd, []).append(c)
    (base,) = by_cmd["FROM"]
    assert base.value[0].endswith("-slim")
    assert by_cmd["USER"][-1].value[0] not in ("root", "0")
    assert "/_stcore/health" in by_cmd["HEALTHCHECK"][0].original
    installs = [c.original for c in by_cmd["RUN"] if "pip install" in c.original]
    assert installs == ["RUN pip install --no-compile -r requirements.txt"]
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert "tensorflow" not in runtime and "pytest" not in runtime and "moto" not in runtime
    copied = [c.value[0] for c in by_cmd["COPY"]]
    for path in copied:
        assert (ROOT / path).exists(), path
    assert "stylize fetch" in by_cmd["CMD"][0].original, "models are fetched from the bucket when the container starts"


def test_service_template_wires_policy_store_and_health():
    resources = cfn_yaml(ROOT / "infra" / "service.yaml")["Resources"]
    assert resources["TaskRole"]["Properties"]["ManagedPolicyArns"] == [{"Ref": "AppPolicyArn"}]
    container = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["STYLIZE_MODEL_STORE"] == {"Ref": "ModelStore"}
    assert resources["TargetGroup"]["Properties"]["HealthCheckPath"] == "/_stcore/health"


def test_local_stand_in_command(shared):
    ran = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "local_stack.py"), "--from", str(shared), "--smoke", "--s3-port", str(free_port()), "--page-port", str(free_port())],
        capture_output=True, text=True, timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "bucket stack created" in ran.stdout and "37 uploaded" in ran.stdout and "open http://127.0.0.1:" in ran.stdout

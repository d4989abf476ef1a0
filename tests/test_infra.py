"""Hosting as code: the templates lint clean, the bucket template deploys (through moto's
CloudFormation API) with the promised settings, publishing is idempotent and refuses bad files,
the page reads what was published, and the container file says what it should."""

from __future__ import annotations

import base64
import json
import os
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

from .conftest import ROOT, free_port, moto_server

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
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)


def test_templates_lint_clean():
    assert {p.name for p in TEMPLATES} == {"bucket.yaml", "service.yaml"}
    cfn_lint = Path(sys.executable).with_name("cfn-lint")  # the venv's own
    lint = subprocess.run([str(cfn_lint), *map(str, TEMPLATES)], capture_output=True, encoding="utf-8")
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
    cfn.create_stack(StackName=name, TemplateBody=(ROOT / "infra" / "bucket.yaml").read_text(encoding="utf-8"), Parameters=[{"ParameterKey": "ModelsPrefix", "ParameterValue": "v1"}])
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
    return subprocess.run([sys.executable, "-m", "stylize", "publish", "--from", str(source), "--to", store], cwd=ROOT, capture_output=True, encoding="utf-8", timeout=300)


def test_publish_then_fetch_then_publish_again(stack, shared, manifest, tmp_path):
    store = stack["ModelStore"]
    first = publish(shared, store)
    assert first.returncode == 0, first.stderr
    available = [a for a in manifest.assets if (shared / a.key).is_file()]
    missing = len(manifest.assets) - len(available)  # the optional fp16 predict model and the derived variants
    assert f"{len(available) + 1} uploaded, 0 skipped, 0 refused, {missing} not in the folder" in first.stdout  # +1: the style vectors

    s3 = boto3.client("s3")
    bucket = stack["BucketName"]
    predict = manifest.predict
    head = s3.head_object(Bucket=bucket, Key=f"v1/{predict.key}", ChecksumMode="ENABLED")
    assert head["Metadata"]["sha256"] == predict.sha256
    assert base64.b64decode(head["ChecksumSHA256"]).hex() == predict.sha256

    # the page's store reads it back, verified
    fetched = ModelStore.from_spec(store, tmp_path / "cache").fetch_many(manifest.required())
    assert len(fetched) == 40

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
    runtime = (ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    assert "tensorflow" not in runtime and "pytest" not in runtime and "moto" not in runtime
    copied = [c.value[0] for c in by_cmd["COPY"]]
    assert {"app.py", "page", "stylize"} <= set(copied), "the page's frame, its sections and the library"
    for path in copied:
        assert (ROOT / path).exists(), path
    assert "stylize fetch" in by_cmd["CMD"][0].original, "models are fetched from the bucket when the container starts"


def test_service_template_wires_policy_store_and_health():
    resources = cfn_yaml(ROOT / "infra" / "service.yaml")["Resources"]
    assert resources["TaskRole"]["Properties"]["ManagedPolicyArns"] == [{"Ref": "AppPolicyArn"}]
    task = resources["TaskDefinition"]["Properties"]
    container = task["ContainerDefinitions"][0]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["STYLIZE_MODEL_STORE"] == {"Ref": "ModelStore"}
    assert resources["TargetGroup"]["Properties"]["HealthCheckPath"] == "/_stcore/health"
    # non-root, read-only root filesystem; writable volumes exactly where the page writes
    assert container["User"] == "10001" and container["ReadonlyRootFilesystem"] is True
    volumes = {v["Name"] for v in task["Volumes"]}
    mounts = {m["ContainerPath"]: m["SourceVolume"] for m in container["MountPoints"]}
    assert set(mounts.values()) == volumes and "/tmp" in mounts
    cache_dir = next(c.value for c in dockerfile.parse_file(str(ROOT / "Dockerfile")) if c.cmd == "ENV")
    cache_dir = dict(zip(cache_dir[::2], cache_dir[1::2], strict=True))["STYLIZE_CACHE_DIR"]
    assert any(cache_dir.startswith(path + "/") for path in mounts), (cache_dir, mounts)


def test_service_template_scales_the_service_it_defines():
    """Autoscaling is wired to this template's own service: the scalable target names its cluster
    and service, the policy tracks the tasks' CPU at the measured target, and a task leaving is
    drained for longer than its own stop timeout."""
    template = cfn_yaml(ROOT / "infra" / "service.yaml")
    resources, parameters = template["Resources"], template["Parameters"]
    target = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ServiceNamespace"] == "ecs" and target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert target["ResourceId"] == {"Sub": "service/${Cluster}/${Service.Name}"}
    assert resources["Cluster"]["Type"] == "AWS::ECS::Cluster" and resources["Service"]["Type"] == "AWS::ECS::Service"
    assert resources["Service"]["Properties"]["Cluster"] == {"Ref": "Cluster"}
    assert "DesiredCount" not in resources["Service"]["Properties"], "autoscaling owns the task count"
    assert target["MinCapacity"] == {"Ref": "MinTasks"} and target["MaxCapacity"] == {"Ref": "MaxTasks"}
    assert 1 <= parameters["MinTasks"]["Default"] < parameters["MaxTasks"]["Default"]

    (target_name,) = [name for name, r in resources.items() if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"]
    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"]
    assert len(policies) == 1
    policy = policies[0]
    assert policy["PolicyType"] == "TargetTrackingScaling" and policy["ScalingTargetId"] == {"Ref": target_name}
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert tracking["TargetValue"] == {"Ref": "TargetCpuPercent"}
    assert 0 < tracking["ScaleOutCooldown"] < tracking["ScaleInCooldown"], "out quickly, in slowly"
    # the README's capacity figure and the template's target are the same number
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"at {parameters['TargetCpuPercent']['Default']} % (`TargetCpuPercent`)" in readme

    # a leaving task: the load balancer drains it (open WebSockets, webcam sessions) before ECS
    # stops it, and the container then has time to finish a running paint
    attributes = {a["Key"]: a["Value"] for a in resources["TargetGroup"]["Properties"]["TargetGroupAttributes"]}
    assert attributes["stickiness.enabled"] == "true" and attributes["stickiness.type"] == "lb_cookie"
    container = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert 60 <= container["StopTimeout"] <= 120  # Fargate's range
    assert int(attributes["deregistration_delay.timeout_seconds"]) > container["StopTimeout"]
    assert resources["Service"]["Properties"]["DeploymentConfiguration"]["MinimumHealthyPercent"] == 100


def test_local_load_balancer_is_configured_like_the_alb(tmp_path):
    """infra/local_lb.py's HAProxy mirrors the target group: cookie stickiness, the same health
    check path, redispatch when a sticky task is gone; HAProxy itself accepts the file."""
    from infra.local_lb import haproxy_binary, haproxy_config

    group = cfn_yaml(ROOT / "infra" / "service.yaml")["Resources"]["TargetGroup"]["Properties"]
    config = haproxy_config(8080, [9001, 9002])
    assert f"option httpchk GET {group['HealthCheckPath']}" in config
    assert "cookie AWSALB insert" in config and "option redispatch" in config
    assert config.count(" check ") == 2 and "cookie page1" in config and "cookie page2" in config
    assert "cookie" not in haproxy_config(8080, [9001, 9002], sticky=False)
    (tmp_path / "haproxy.cfg").write_text(config, encoding="utf-8")
    checked = subprocess.run([haproxy_binary(), "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, encoding="utf-8")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_container_start_with_a_dead_store_serves_the_page(tmp_path):
    """The container's own start command, with a store that accepts connections and never
    answers: the fetch gives up within its deadline with one line, and the page is served (its
    health check passes) instead of the container exiting into a restart loop."""
    import socket
    import threading
    import time
    import urllib.request

    from .conftest import wait_for_http

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    accepted = []
    threading.Thread(target=lambda: [accepted.append(silent.accept()) for _ in range(64)], daemon=True).start()
    command = next(c for c in dockerfile.parse_file(str(ROOT / "Dockerfile")) if c.cmd == "CMD").value[-1]
    port = free_port()
    command = command.replace("8501", str(port)).replace("0.0.0.0", "127.0.0.1")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STYLIZE_")},
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "STYLIZE_MODEL_STORE": "s3://models/v1",
        "STYLIZE_CACHE_DIR": str(tmp_path / "cache"),
        "STYLIZE_FETCH_DEADLINE": "4",
        "STYLIZE_READ_TIMEOUT": "2",
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{silent.getsockname()[1]}",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    started = time.monotonic()
    proc = subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=90)
        waited = time.monotonic() - started
        assert proc.poll() is None, "the page is being served"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as health:
            assert health.status == 200
        assert waited < 60, waited
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        silent.close()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "within 4 s" in errors[0] and "reachable" in errors[0], err[-2000:]
    assert "models unavailable at start-up" in out


def test_local_stand_in_command(shared):
    ran = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "local_stack.py"), "--from", str(shared), "--smoke", "--s3-port", str(free_port()), "--page-port", str(free_port())],
        capture_output=True, encoding="utf-8", timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "bucket stack created" in ran.stdout and "41 uploaded" in ran.stdout and "open http://127.0.0.1:" in ran.stdout


def rendered(node, bucket: str, prefix: str):
    """A template fragment with the bucket's names filled in, as CloudFormation would."""
    if isinstance(node, dict):
        if set(node) == {"GetAtt"} and node["GetAtt"] == "ModelBucket.Arn":
            return f"arn:aws:s3:::{bucket}"
        if set(node) == {"Sub"}:
            return node["Sub"].replace("${ModelBucket.Arn}", f"arn:aws:s3:::{bucket}").replace("${ModelsPrefix}", prefix)
        return {k: rendered(v, bucket, prefix) for k, v in node.items()}
    if isinstance(node, list):
        return [rendered(v, bucket, prefix) for v in node]
    return node


def test_app_policy_denies_what_it_does_not_grant(shared, manifest, tmp_path, monkeypatch, aws_env):
    """On a moto server that enforces IAM (as AWS does), a user holding only the template's app
    policy reads the models through the page's own store, and is refused every write, every
    delete and every object outside the models prefix."""
    from botocore.exceptions import ClientError

    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="3") as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        iam = boto3.client("iam", endpoint_url=endpoint)
        iam.create_user(UserName="admin")  # the three actions before IAM is enforced
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        admin_key = iam.create_access_key(UserName="admin")["AccessKey"]
        admin = boto3.session.Session(aws_access_key_id=admin_key["AccessKeyId"], aws_secret_access_key=admin_key["SecretAccessKey"], region_name="us-east-1")
        s3_admin, iam_admin = admin.client("s3", endpoint_url=endpoint), admin.client("iam", endpoint_url=endpoint)
        bucket = "stylizer-models-enforced"
        s3_admin.create_bucket(Bucket=bucket)
        asset = manifest.get("transfer", "int8")
        s3_admin.upload_file(str(shared / asset.key), bucket, f"v1/{asset.key}")
        s3_admin.put_object(Bucket=bucket, Key="private/secret.txt", Body=b"not for the page")
        s3_admin.upload_file(str(shared / asset.key), bucket, f"v2/{asset.key}")

        document = rendered(cfn_yaml(ROOT / "infra" / "bucket.yaml")["Resources"]["AppReadPolicy"]["Properties"]["PolicyDocument"], bucket, "v1")
        policy_arn = iam_admin.create_policy(PolicyName="app-read", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        iam_admin.create_user(UserName="page")
        iam_admin.attach_user_policy(UserName="page", PolicyArn=policy_arn)
        page_key = iam_admin.create_access_key(UserName="page")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", page_key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", page_key["SecretAccessKey"])
        s3_page = boto3.session.Session(region_name="us-east-1").client("s3", endpoint_url=endpoint)  # the page's keys, from the environment

        # allowed: the page's store reads its models
        path = ModelStore.from_spec(f"s3://{bucket}/v1", tmp_path / "cache").fetch(asset)
        assert path.read_bytes() == (shared / asset.key).read_bytes()

        # denied: writes, deletes, other prefixes — each refused by the server, nothing changed
        attempts = {
            "overwrite a model": lambda: s3_page.put_object(Bucket=bucket, Key=f"v1/{asset.key}", Body=b"evil"),
            "add an object": lambda: s3_page.put_object(Bucket=bucket, Key="v1/models/new.tflite", Body=b"evil"),
            "delete a model": lambda: s3_page.delete_object(Bucket=bucket, Key=f"v1/{asset.key}"),
            "read outside the prefix": lambda: s3_page.get_object(Bucket=bucket, Key="private/secret.txt"),
            "read another version's prefix": lambda: s3_page.get_object(Bucket=bucket, Key=f"v2/{asset.key}"),
            "change the bucket policy": lambda: s3_page.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document)),
            "delete the bucket": lambda: s3_page.delete_bucket(Bucket=bucket),
        }
        for what, attempt in attempts.items():
            with pytest.raises(ClientError) as err:
                attempt()
            assert err.value.response["Error"]["Code"] == "AccessDenied", what
        with pytest.raises(StoreError, match="access was denied"):
            ModelStore.from_spec(f"s3://{bucket}/private", tmp_path / "other").fetch(asset)
        unchanged = s3_admin.get_object(Bucket=bucket, Key=f"v1/{asset.key}")["Body"].read()
        assert unchanged == (shared / asset.key).read_bytes()

#!/usr/bin/env python3
"""Drive kiln-sim through a full ECS/VPC flow with the official Alibaba Cloud
Python SDKs (aliyun-python-sdk-core / -ecs / -vpc, see requirements.txt).

Environment:
    KILN_SIM_ENDPOINT    host:port of the simulator (plain HTTP)
    KILN_SIM_ACCESS_KEY  access key id known to the simulator
    KILN_SIM_SECRET_KEY  its secret
    KILN_SIM_REGION      region id, e.g. cn-beijing

Prints one line per call ("ok CreateVpc vpc-..."), exits 0 on success and
non-zero (with the exception) on the first failure, after a best-effort
cleanup of whatever it had created.

Every request is pinned to KILN_SIM_ENDPOINT over http with
request.set_endpoint() + request.set_protocol_type('http'); a request whose
endpoint is set never reaches the SDK's endpoint resolvers (local config or
the Location service). As a guard, each client's HTTP session only has
adapters that refuse any URL other than http://KILN_SIM_ENDPOINT/, and the
proxy environment variables are dropped (the SDK honours HTTP(S)_PROXY).
"""

import json
import os
import sys
import time
import traceback
import uuid
import warnings
import xml.etree.ElementTree as ET

for _var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
             "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)

from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.vendored.requests.adapters import HTTPAdapter
from aliyunsdkcore.vendored.six.moves.urllib.parse import urlsplit

from aliyunsdkecs.request.v20140526 import (
    AuthorizeSecurityGroupRequest,
    CreateImageRequest,
    CreateInstanceRequest,
    CreateKeyPairRequest,
    CreateSecurityGroupRequest,
    DeleteImageRequest,
    DeleteInstanceRequest,
    DeleteKeyPairsRequest,
    DeleteSecurityGroupRequest,
    DescribeImagesRequest,
    DescribeInstancesRequest,
    DescribeRegionsRequest,
    DescribeZonesRequest,
    StartInstanceRequest,
    StopInstanceRequest,
)
from aliyunsdkecs.request.v20140526 import CreateVpcRequest as EcsCreateVpcRequest
from aliyunsdkecs.request.v20140526 import DescribeVpcsRequest as EcsDescribeVpcsRequest
from aliyunsdkecs.request.v20140526 import DeleteVpcRequest as EcsDeleteVpcRequest
from aliyunsdkvpc.request.v20160428 import (
    AllocateEipAddressRequest,
    AssociateEipAddressRequest,
    CreateVpcRequest,
    CreateVSwitchRequest,
    DeleteVpcRequest,
    DeleteVSwitchRequest,
    DescribeEipAddressesRequest,
    DescribeVpcsRequest,
    DescribeVSwitchesRequest,
    ReleaseEipAddressRequest,
    UnassociateEipAddressRequest,
)

POLL_INTERVAL = 0.2
POLL_TIMEOUT = 60.0
DEPENDENCY_RETRY_TIMEOUT = 10.0


class FlowError(Exception):
    pass


def env(name):
    value = os.environ.get(name, "").strip()
    if not value:
        raise FlowError("environment variable %s is not set" % name)
    return value


ENDPOINT = None  # host:port, filled in by main()


class PinnedAdapter(HTTPAdapter):
    """Refuses to send anything that is not http://ENDPOINT/..."""

    def send(self, request, *args, **kwargs):
        parts = urlsplit(request.url)
        if parts.scheme != "http" or parts.netloc != ENDPOINT:
            raise FlowError("SDK tried to reach %s (only http://%s is allowed)"
                            % (request.url, ENDPOINT))
        return HTTPAdapter.send(self, request, *args, **kwargs)


def make_client(ak, secret, region):
    client = AcsClient(ak, secret, region, auto_retry=False,
                       connect_timeout=5, timeout=30)
    client.session.mount("http://", PinnedAdapter())
    client.session.mount("https://", PinnedAdapter())
    return client


def pin(request):
    """Point one request at the simulator over plain http."""
    request.set_endpoint(ENDPOINT)
    request.set_protocol_type("http")
    return request


def ok(action, detail=""):
    print(("ok %s %s" % (action, detail)).rstrip(), flush=True)


def call(client, request):
    """Send a request (JSON) and return the parsed response body."""
    pin(request)
    body = client.do_action_with_exception(request)
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:
        raise FlowError("%s: response is not JSON: %r"
                        % (request.get_action_name(), body[:500]))


def field(resp, path, action):
    """resp['A']['B']... with a clear error when the shape is wrong."""
    cur = resp
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            raise FlowError("%s: response has no %s: %s"
                            % (action, path, json.dumps(resp)[:800]))
        cur = cur[key]
    return cur


def wait_for(what, probe):
    """probe() -> (done, state). Poll every 0.2 s for at most 60 s."""
    start = time.monotonic()
    state = None
    while True:
        done, state = probe()
        if done:
            ok("wait", "%s %s (%.1fs)" % (what, state, time.monotonic() - start))
            return state
        if time.monotonic() - start > POLL_TIMEOUT:
            raise FlowError("timed out after %.0fs waiting for %s; last state: %s"
                            % (POLL_TIMEOUT, what, state))
        time.sleep(POLL_INTERVAL)


def retry_dependency(what, fn):
    """Run fn(), retrying while the server answers DependencyViolation*."""
    start = time.monotonic()
    while True:
        try:
            return fn()
        except ServerException as e:
            code = e.get_error_code() or ""
            if (not code.startswith("DependencyViolation")
                    or time.monotonic() - start > DEPENDENCY_RETRY_TIMEOUT):
                raise
            print("retry %s after %s" % (what, code), flush=True)
            time.sleep(POLL_INTERVAL)


# --- describe helpers --------------------------------------------------------

def with_params(req, **params):
    """`req` with each of `params` set through its set_<Name> method."""
    for key, value in params.items():
        getattr(req, "set_" + key)(value)
    return req


def first_item(client, req, path):
    """The first item listed at `path` in the answer to `req`, or None."""
    items = field(call(client, req), path, req.get_action_name())
    return items[0] if items else None


def describe_vpc(client, vpc_id, via_ecs=False):
    req = EcsDescribeVpcsRequest.DescribeVpcsRequest() if via_ecs \
        else DescribeVpcsRequest.DescribeVpcsRequest()
    return first_item(client, with_params(req, VpcId=vpc_id), "Vpcs.Vpc")


def describe_vswitch(client, vsw_id):
    req = with_params(DescribeVSwitchesRequest.DescribeVSwitchesRequest(), VSwitchId=vsw_id)
    return first_item(client, req, "VSwitches.VSwitch")


def describe_instance(client, instance_id):
    req = with_params(DescribeInstancesRequest.DescribeInstancesRequest(),
                      InstanceIds=json.dumps([instance_id]))
    return first_item(client, req, "Instances.Instance")


def describe_eip(client, allocation_id):
    req = with_params(DescribeEipAddressesRequest.DescribeEipAddressesRequest(),
                      AllocationId=allocation_id)
    return first_item(client, req, "EipAddresses.EipAddress")


def describe_image(client, image_id):
    # DescribeImages filters on Status=Available by default, so an image that
    # is still Creating may legitimately be absent: treat that as "not yet".
    req = with_params(DescribeImagesRequest.DescribeImagesRequest(), ImageId=image_id)
    return first_item(client, req, "Images.Image")


def status_is(describe, wanted):
    def probe():
        item = describe()
        state = item.get("Status") if item else "(absent)"
        return state == wanted, state
    return probe


def gone(describe):
    def probe():
        item = describe()
        return item is None, ("gone" if item is None else item.get("Status"))
    return probe


# --- the flow ----------------------------------------------------------------

def check_regions(client, region):
    resp = call(client, DescribeRegionsRequest.DescribeRegionsRequest())
    ids = [r.get("RegionId") for r in field(resp, "Regions.Region", "DescribeRegions")]
    if region not in ids:
        raise FlowError("DescribeRegions: %s not in %s" % (region, ids))
    ok("DescribeRegions", "%d regions, %s present" % (len(ids), region))


def xml_describe_regions(client, region, request, label):
    pin(request)
    request.set_accept_format("XML")
    # do_action_with_exception() forces Format=JSON, so use the raw call.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        status, headers, body = client.get_response(request)
    if status != 200:
        raise FlowError("%s: HTTP %s: %r" % (label, status, body[:500]))
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise FlowError("%s: response is not XML (%s): %r" % (label, e, body[:500]))
    if root.tag != "DescribeRegionsResponse":
        raise FlowError("%s: XML root is <%s>, expected <DescribeRegionsResponse>"
                        % (label, root.tag))
    ids = [e.text for e in root.iter("RegionId")]
    if region not in ids:
        raise FlowError("%s: %s not in XML RegionIds %s" % (label, region, ids))
    ok(label, "XML, %d regions, %s present (Content-Type %s)"
       % (len(ids), region, headers.get("Content-Type")))


def negative_checks(ak, secret, region):
    cases = [
        ("wrong secret", ak, secret + "-wrong",
         # The SDK rewrites SignatureDoesNotMatch into InvalidAccessKeySecret
         # when the error message ends in ":<the client's string to sign>",
         # as the real service's message does.
         ("SignatureDoesNotMatch", "InvalidAccessKeySecret")),
        ("unknown access key", "LTAI" + uuid.uuid4().hex[:16], secret,
         ("InvalidAccessKeyId.NotFound",)),
    ]
    for label, bad_ak, bad_secret, wanted in cases:
        client = make_client(bad_ak, bad_secret, region)
        try:
            call(client, DescribeRegionsRequest.DescribeRegionsRequest())
        except ServerException as e:
            code = e.get_error_code()
            if code not in wanted:
                raise FlowError("DescribeRegions with %s: expected %s, got %s (HTTP %s): %s"
                                % (label, " or ".join(wanted), code,
                                   e.get_http_status(), e.get_error_msg()))
            ok("DescribeRegions", "rejected (%s): ServerException %s HTTP %s"
               % (label, code, e.get_http_status()))
        else:
            raise FlowError("DescribeRegions with %s unexpectedly succeeded" % label)


def old_client_vpc(client, suffix):
    """CreateVpc/DescribeVpcs/DeleteVpc sent to the Ecs product (2014-05-26),
    the way pre-VPC-API clients did it."""
    req = EcsCreateVpcRequest.CreateVpcRequest()
    req.set_CidrBlock("192.168.0.0/16")
    req.set_VpcName("kiln-sdk-ecsvpc-" + suffix)
    vpc_id = field(call(client, req), "VpcId", "CreateVpc(Ecs)")
    ok("CreateVpc(Ecs)", vpc_id)
    wait_for("Vpc(Ecs) %s" % vpc_id,
             status_is(lambda: describe_vpc(client, vpc_id, via_ecs=True), "Available"))
    ok("DescribeVpcs(Ecs)", vpc_id)
    return vpc_id


def delete_old_client_vpc(client, vpc_id):
    # CommonRequest, product Ecs, POST with VpcId in a form-encoded body.
    req = CommonRequest(product="Ecs", version="2014-05-26", action_name="DeleteVpc")
    req.set_method("POST")
    req.add_body_params("VpcId", vpc_id)
    call(client, req)
    ok("DeleteVpc(Ecs, CommonRequest POST form body)", vpc_id)
    wait_for("Vpc(Ecs) %s" % vpc_id,
             gone(lambda: describe_vpc(client, vpc_id, via_ecs=True)))


def run(client, ak, secret, region, created):
    suffix = uuid.uuid4().hex[:8]

    check_regions(client, region)
    negative_checks(ak, secret, region)
    xml_describe_regions(client, region, DescribeRegionsRequest.DescribeRegionsRequest(),
                         "DescribeRegions")
    common = CommonRequest(product="Ecs", version="2014-05-26",
                           action_name="DescribeRegions")  # method GET
    xml_describe_regions(client, region, common, "DescribeRegions(CommonRequest GET)")

    resp = call(client, DescribeZonesRequest.DescribeZonesRequest())
    zones = field(resp, "Zones.Zone", "DescribeZones")
    zone_id = instance_type = None
    for zone in zones:
        types = (zone.get("AvailableInstanceTypes") or {}).get("InstanceTypes") or []
        if types:
            zone_id, instance_type = zone.get("ZoneId"), types[0]
            break
    if not zone_id:
        raise FlowError("DescribeZones: no zone lists AvailableInstanceTypes.InstanceTypes: %s"
                        % json.dumps(resp)[:800])
    ok("DescribeZones", "%d zones, using %s / %s" % (len(zones), zone_id, instance_type))

    req = DescribeImagesRequest.DescribeImagesRequest()
    req.set_ImageOwnerAlias("system")
    images = field(call(client, req), "Images.Image", "DescribeImages")
    if not images:
        raise FlowError("DescribeImages(ImageOwnerAlias=system) returned no image")
    image_id = images[0].get("ImageId")
    ok("DescribeImages", "system image %s" % image_id)

    # Old-client style: VPC through the Ecs product.
    created["ecs_vpc"] = old_client_vpc(client, suffix)
    delete_old_client_vpc(client, created.pop("ecs_vpc"))

    # VPC API (2016-04-28).
    req = CreateVpcRequest.CreateVpcRequest()
    req.set_CidrBlock("172.16.0.0/16")
    req.set_VpcName("kiln-sdk-vpc-" + suffix)
    vpc_id = created["vpc"] = field(call(client, req), "VpcId", "CreateVpc")
    ok("CreateVpc", vpc_id)
    wait_for("Vpc %s" % vpc_id, status_is(lambda: describe_vpc(client, vpc_id), "Available"))

    req = CreateVSwitchRequest.CreateVSwitchRequest()
    req.set_VpcId(vpc_id)
    req.set_ZoneId(zone_id)
    req.set_CidrBlock("172.16.1.0/24")
    req.set_VSwitchName("kiln-sdk-vsw-" + suffix)
    vsw_id = created["vswitch"] = field(call(client, req), "VSwitchId", "CreateVSwitch")
    ok("CreateVSwitch", vsw_id)
    wait_for("VSwitch %s" % vsw_id,
             status_is(lambda: describe_vswitch(client, vsw_id), "Available"))

    req = CreateSecurityGroupRequest.CreateSecurityGroupRequest()
    req.set_VpcId(vpc_id)
    req.set_SecurityGroupName("kiln-sdk-sg-" + suffix)
    sg_id = created["sg"] = field(call(client, req), "SecurityGroupId", "CreateSecurityGroup")
    ok("CreateSecurityGroup", sg_id)

    req = AuthorizeSecurityGroupRequest.AuthorizeSecurityGroupRequest()
    req.set_SecurityGroupId(sg_id)
    req.set_IpProtocol("tcp")
    req.set_PortRange("22/22")
    req.set_SourceCidrIp("0.0.0.0/0")
    call(client, req)
    ok("AuthorizeSecurityGroup", "%s tcp 22/22 0.0.0.0/0" % sg_id)

    key_name = "kiln-sdk-key-" + suffix
    req = CreateKeyPairRequest.CreateKeyPairRequest()
    req.set_KeyPairName(key_name)
    resp = call(client, req)
    created["keypair"] = key_name
    body = field(resp, "PrivateKeyBody", "CreateKeyPair")
    if not (body.startswith("-----BEGIN RSA PRIVATE KEY-----")
            or body.startswith("-----BEGIN PRIVATE KEY-----")):
        raise FlowError("CreateKeyPair: PrivateKeyBody is not a PEM private key: %r"
                        % body[:60])
    ok("CreateKeyPair", "%s %s" % (field(resp, "KeyPairName", "CreateKeyPair"),
                                   resp.get("KeyPairFingerPrint", "")))

    req = CreateInstanceRequest.CreateInstanceRequest()
    req.set_ImageId(image_id)
    req.set_InstanceType(instance_type)
    req.set_SecurityGroupId(sg_id)
    req.set_VSwitchId(vsw_id)
    req.set_KeyPairName(key_name)
    req.set_InstanceName("kiln-sdk-vm-" + suffix)
    inst_id = created["instance"] = field(call(client, req), "InstanceId", "CreateInstance")
    ok("CreateInstance", inst_id)
    wait_for("Instance %s" % inst_id,
             status_is(lambda: describe_instance(client, inst_id), "Stopped"))

    req = AllocateEipAddressRequest.AllocateEipAddressRequest()
    req.set_Bandwidth("5")
    resp = call(client, req)
    eip_id = created["eip"] = field(resp, "AllocationId", "AllocateEipAddress")
    ok("AllocateEipAddress", "%s %s" % (eip_id, resp.get("EipAddress", "")))
    wait_for("Eip %s" % eip_id, status_is(lambda: describe_eip(client, eip_id), "Available"))

    req = AssociateEipAddressRequest.AssociateEipAddressRequest()
    req.set_AllocationId(eip_id)
    req.set_InstanceId(inst_id)
    req.set_InstanceType("EcsInstance")
    call(client, req)
    created["eip_assoc"] = inst_id
    ok("AssociateEipAddress", "%s -> %s" % (eip_id, inst_id))
    wait_for("Eip %s" % eip_id, status_is(lambda: describe_eip(client, eip_id), "InUse"))

    req = StartInstanceRequest.StartInstanceRequest()
    req.set_InstanceId(inst_id)
    call(client, req)
    ok("StartInstance", inst_id)
    wait_for("Instance %s" % inst_id,
             status_is(lambda: describe_instance(client, inst_id), "Running"))

    req = StopInstanceRequest.StopInstanceRequest()
    req.set_InstanceId(inst_id)
    call(client, req)
    ok("StopInstance", inst_id)
    wait_for("Instance %s" % inst_id,
             status_is(lambda: describe_instance(client, inst_id), "Stopped"))

    req = CreateImageRequest.CreateImageRequest()
    req.set_InstanceId(inst_id)
    req.set_ImageName("kiln-sdk-image-" + suffix)
    new_image = created["image"] = field(call(client, req), "ImageId", "CreateImage")
    ok("CreateImage", new_image)
    wait_for("Image %s" % new_image,
             status_is(lambda: describe_image(client, new_image), "Available"))

    # --- tear down, in reverse ---
    req = DeleteImageRequest.DeleteImageRequest()
    req.set_ImageId(new_image)
    call(client, req)
    created.pop("image")
    ok("DeleteImage", new_image)

    req = UnassociateEipAddressRequest.UnassociateEipAddressRequest()
    req.set_AllocationId(eip_id)
    req.set_InstanceId(inst_id)
    req.set_InstanceType("EcsInstance")
    call(client, req)
    created.pop("eip_assoc")
    ok("UnassociateEipAddress", "%s from %s" % (eip_id, inst_id))
    wait_for("Eip %s" % eip_id, status_is(lambda: describe_eip(client, eip_id), "Available"))

    req = ReleaseEipAddressRequest.ReleaseEipAddressRequest()
    req.set_AllocationId(eip_id)
    call(client, req)
    created.pop("eip")
    ok("ReleaseEipAddress", eip_id)

    req = DeleteInstanceRequest.DeleteInstanceRequest()
    req.set_InstanceId(inst_id)
    req.set_Force(True)  # the SDK sends Force=True (Python spelling)
    call(client, req)
    ok("DeleteInstance", inst_id)
    wait_for("Instance %s" % inst_id, gone(lambda: describe_instance(client, inst_id)))
    created.pop("instance")

    def delete_held(label, new_request, key, resource_id):
        """Deletes what another resource may hold a moment longer: retried
        while the answer is DependencyViolation, a fresh request each time."""
        retry_dependency(label, lambda: call(client, new_request()))
        created.pop(key)
        ok(label, resource_id)

    delete_held("DeleteSecurityGroup", lambda: with_params(
        DeleteSecurityGroupRequest.DeleteSecurityGroupRequest(), SecurityGroupId=sg_id), "sg", sg_id)

    req = DeleteKeyPairsRequest.DeleteKeyPairsRequest()
    req.set_KeyPairNames(json.dumps([key_name]))
    call(client, req)
    created.pop("keypair")
    ok("DeleteKeyPairs", key_name)

    delete_held("DeleteVSwitch", lambda: with_params(
        DeleteVSwitchRequest.DeleteVSwitchRequest(), VSwitchId=vsw_id), "vswitch", vsw_id)
    delete_held("DeleteVpc", lambda: with_params(
        DeleteVpcRequest.DeleteVpcRequest(), VpcId=vpc_id), "vpc", vpc_id)


def cleanup(client, created):
    """Best effort, after a failure: undo whatever is still recorded."""
    def attempt(label, request, **params):
        with_params(request, **params)
        try:
            retry_dependency(label, lambda: call(client, request))
            print("cleanup %s ok" % label, flush=True)
        except Exception as e:  # noqa: BLE001 - best effort
            print("cleanup %s failed: %s" % (label, e), flush=True)

    if "image" in created:
        attempt("DeleteImage", DeleteImageRequest.DeleteImageRequest(),
                ImageId=created["image"])
    if "eip_assoc" in created:
        attempt("UnassociateEipAddress",
                UnassociateEipAddressRequest.UnassociateEipAddressRequest(),
                AllocationId=created["eip"], InstanceId=created["eip_assoc"],
                InstanceType="EcsInstance")
        try:
            wait_for("Eip %s" % created["eip"],
                     status_is(lambda: describe_eip(client, created["eip"]), "Available"))
        except Exception as e:  # noqa: BLE001 - best effort
            print("cleanup wait for the EIP to be free failed: %s" % e, flush=True)
    if "eip" in created:
        attempt("ReleaseEipAddress", ReleaseEipAddressRequest.ReleaseEipAddressRequest(),
                AllocationId=created["eip"])
    if "instance" in created:
        attempt("DeleteInstance", DeleteInstanceRequest.DeleteInstanceRequest(),
                InstanceId=created["instance"], Force=True)
        try:
            wait_for("Instance %s" % created["instance"],
                     gone(lambda: describe_instance(client, created["instance"])))
        except Exception as e:  # noqa: BLE001 - best effort
            print("cleanup wait for instance deletion failed: %s" % e, flush=True)
    if "sg" in created:
        attempt("DeleteSecurityGroup", DeleteSecurityGroupRequest.DeleteSecurityGroupRequest(),
                SecurityGroupId=created["sg"])
    if "keypair" in created:
        attempt("DeleteKeyPairs", DeleteKeyPairsRequest.DeleteKeyPairsRequest(),
                KeyPairNames=json.dumps([created["keypair"]]))
    if "vswitch" in created:
        attempt("DeleteVSwitch", DeleteVSwitchRequest.DeleteVSwitchRequest(),
                VSwitchId=created["vswitch"])
    if "vpc" in created:
        attempt("DeleteVpc", DeleteVpcRequest.DeleteVpcRequest(), VpcId=created["vpc"])
    if "ecs_vpc" in created:
        attempt("DeleteVpc(Ecs)", EcsDeleteVpcRequest.DeleteVpcRequest(),
                VpcId=created["ecs_vpc"])


def main():
    global ENDPOINT
    created = {}
    client = None
    try:
        endpoint = env("KILN_SIM_ENDPOINT")
        for prefix in ("http://", "https://"):
            if endpoint.startswith(prefix):
                endpoint = endpoint[len(prefix):]
        ENDPOINT = endpoint.rstrip("/")
        ak = env("KILN_SIM_ACCESS_KEY")
        secret = env("KILN_SIM_SECRET_KEY")
        region = env("KILN_SIM_REGION")

        client = make_client(ak, secret, region)
        run(client, ak, secret, region, created)
    except (FlowError, ServerException, ClientException, Exception) as e:
        traceback.print_exc()
        if isinstance(e, ServerException):
            detail = "ServerException code=%s http=%s request_id=%s: %s" % (
                e.get_error_code(), e.get_http_status(), e.get_request_id(),
                e.get_error_msg())
        elif isinstance(e, ClientException):
            detail = "ClientException code=%s: %s" % (e.get_error_code(), e.get_error_msg())
        else:
            detail = "%s: %s" % (type(e).__name__, e)
        print("FAIL %s" % detail, flush=True)
        if client is not None and created:
            cleanup(client, created)
        return 1
    print("PASS alicloud_flow against http://%s" % ENDPOINT, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The official NAVER Cloud Python SDK (ncloud-server from PyPI) drives
kiln's simulator through a create/describe/delete flow on the classic
server API, the one Packer 1.6.6 speaks, and a wrong secret is refused.

Reads KILN_SIM_ENDPOINT (host:port), KILN_SIM_ACCESS_KEY and
KILN_SIM_SECRET_KEY. Prints `ok <action>` per call and `PASS ncloud_flow`.
"""
import os
import sys
import time

endpoint = os.environ["KILN_SIM_ENDPOINT"]
# The SDKs read the gateway from NCLOUD_API_GW when their configuration
# is made, as Packer's Go SDK does.
os.environ["NCLOUD_API_GW"] = "http://" + endpoint

import ncloud_server  # noqa: E402
from ncloud_server.rest import ApiException as ServerError  # noqa: E402


def api(module, secret=None):
    config = module.Configuration()
    config.access_key = os.environ["KILN_SIM_ACCESS_KEY"]
    config.secret_key = secret or os.environ["KILN_SIM_SECRET_KEY"]
    return module.V2Api(module.ApiClient(config))


def call(name, function, request):
    reply = function(request)
    print("ok", name)
    return reply


def wait(what, check, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.2)
    sys.exit("FAIL: timed out waiting for " + what)


def classic():
    s = api(ncloud_server)
    s_ = ncloud_server
    regions = call("getRegionList", s.get_region_list, s_.GetRegionListRequest()).region_list
    korea = next(r for r in regions if r.region_name == "Korea")
    zones = call("getZoneList", s.get_zone_list, s_.GetZoneListRequest(region_no=korea.region_no)).zone_list
    key = call("createLoginKey", s.create_login_key, s_.CreateLoginKeyRequest(key_name="sdk-classic"))
    assert "PRIVATE KEY" in key.private_key
    created = call("createServerInstances", s.create_server_instances, s_.CreateServerInstancesRequest(
        server_image_product_code="SPSW0LINUX000046", server_product_code="SPSVRSTAND000004",
        login_key_name="sdk-classic", zone_no=zones[0].zone_no, server_description="made by the SDK"))
    no = created.server_instance_list[0].server_instance_no

    def server():
        reply = s.get_server_instance_list(s_.GetServerInstanceListRequest(server_instance_no_list=[no]))
        return reply.server_instance_list[0] if reply.server_instance_list else None

    wait("RUN", lambda: server().server_instance_status.code == "RUN")
    print("ok getServerInstanceList")
    password = call("getRootPassword", s.get_root_password, s_.GetRootPasswordRequest(
        server_instance_no=no, private_key=key.private_key)).root_password
    assert password
    storage = call("createBlockStorageInstance", s.create_block_storage_instance,
                   s_.CreateBlockStorageInstanceRequest(block_storage_size=10, server_instance_no=no))
    storage_no = storage.block_storage_instance_list[0].block_storage_instance_no
    ip = call("createPublicIpInstance", s.create_public_ip_instance,
              s_.CreatePublicIpInstanceRequest(server_instance_no=no))
    ip_no = ip.public_ip_instance_list[0].public_ip_instance_no
    wait("the public IP", lambda: server().public_ip == ip.public_ip_instance_list[0].public_ip)
    call("stopServerInstances", s.stop_server_instances,
         s_.StopServerInstancesRequest(server_instance_no_list=[no]))
    wait("NSTOP", lambda: server().server_instance_status.code == "NSTOP")
    image = call("createMemberServerImage", s.create_member_server_image, s_.CreateMemberServerImageRequest(
        server_instance_no=no, member_server_image_name="sdk-image"))
    image_no = image.member_server_image_list[0].member_server_image_no
    wait("CREAT", lambda: s.get_member_server_image_list(s_.GetMemberServerImageListRequest(
        member_server_image_no_list=[image_no])).member_server_image_list[0].member_server_image_status.code == "CREAT")
    print("ok getMemberServerImageList")
    call("deleteBlockStorageInstances", s.delete_block_storage_instances,
         s_.DeleteBlockStorageInstancesRequest(block_storage_instance_no_list=[storage_no]))
    call("disassociatePublicIpFromServerInstance", s.disassociate_public_ip_from_server_instance,
         s_.DisassociatePublicIpFromServerInstanceRequest(public_ip_instance_no=ip_no))
    wait("the IP released", lambda: s.get_public_ip_instance_list(s_.GetPublicIpInstanceListRequest(
        public_ip_instance_no_list=[ip_no])).public_ip_instance_list[0].public_ip_instance_status.code == "CREAT")
    call("deletePublicIpInstances", s.delete_public_ip_instances,
         s_.DeletePublicIpInstancesRequest(public_ip_instance_no_list=[ip_no]))
    call("terminateServerInstances", s.terminate_server_instances,
         s_.TerminateServerInstancesRequest(server_instance_no_list=[no]))
    wait("the server gone", lambda: server() is None)
    call("deleteLoginKey", s.delete_login_key, s_.DeleteLoginKeyRequest(key_name="sdk-classic"))
    call("deleteMemberServerImages", s.delete_member_server_images,
         s_.DeleteMemberServerImagesRequest(member_server_image_no_list=[image_no]))


def wrong_secret():
    try:
        api(ncloud_server, secret="not-the-secret").get_region_list(ncloud_server.GetRegionListRequest())
    except ServerError as e:
        assert e.status == 401, e.status
        print("rejected (wrong secret)", e.status)
        return
    sys.exit("FAIL: a wrong secret was accepted")


classic()
wrong_secret()
print("PASS ncloud_flow")

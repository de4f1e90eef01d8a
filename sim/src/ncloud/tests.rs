//! Whole flows through the seam's `serve`, with signed requests, as
//! Packer 1.6.6 drives them.

use super::credentials::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use super::signature;
use crate::cloud::{CallContext, Common, HttpRequest, Reply};
use crate::clouds::{self, Clouds, Settings};
use crate::latency::{Latencies, Profile};
use serde_json::Value;
use std::time::{Duration, Instant};

fn clouds_with(settings: &Settings, check_replay: bool) -> Clouds {
    Clouds::start(settings, Common { check_replay, latencies: Latencies::of(Profile::Instant, 1.0) })
}

/// A request to `path` with form `body`, signed with `secret` at `ts`.
fn signed(path: &str, body: &str, access: &str, secret: &str, ts: &str) -> HttpRequest {
    let sig = signature::sign(secret, "POST", path, ts, access);
    HttpRequest {
        method: "POST".into(),
        host: "ncloud.apigw.ntruss.com".into(),
        path: path.into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/x-www-form-urlencoded".into()),
            ("x-ncp-apigw-timestamp".into(), ts.into()),
            ("x-ncp-iam-access-key".into(), access.into()),
            ("x-ncp-apigw-signature-v1".into(), sig),
        ],
        body: format!("responseFormatType=json&{body}").into_bytes().into(),
    }
}

fn now_ms() -> String {
    chrono::Utc::now().timestamp_millis().to_string()
}

fn raw(clouds: &Clouds, request: &HttpRequest, now: Instant) -> Reply {
    let (cloud, call) = clouds.recognise(request).expect("an ncloud call");
    cloud.serve(request, &call, CallContext { now, fail_images: false })
}

/// Serves `action` of the classic API at `now`; the inner response.
fn call_at(clouds: &Clouds, action: &str, body: &str, now: Instant) -> Result<Value, (u16, Value)> {
    let request = signed(&format!("/server/v2/{action}"), body, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &now_ms());
    let reply = raw(clouds, &request, now);
    let text = String::from_utf8(reply.body).unwrap();
    assert!(!text.ends_with('\n'), "{action}: a trailing newline");
    let value: Value = serde_json::from_str(&text).unwrap();
    if reply.status != 200 {
        return Err((reply.status, value));
    }
    Ok(value[format!("{action}Response")].clone())
}

fn call(clouds: &Clouds, action: &str, body: &str) -> Value {
    call_at(clouds, action, body, Instant::now()).unwrap_or_else(|e| panic!("{action} {body}: {e:?}"))
}

fn refused(clouds: &Clouds, action: &str, body: &str) -> (u16, String) {
    let (status, value) = call_at(clouds, action, body, Instant::now()).expect_err(action);
    (status, value["responseError"]["returnCode"].as_str().unwrap_or("").to_string())
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn status(clouds: &Clouds, no: &str) -> String {
    let list = call(clouds, "getServerInstanceList", &format!("serverInstanceNoList.1={no}"));
    list["serverInstanceList"][0]["serverInstanceStatus"]["code"].as_str().unwrap().to_string()
}

#[test]
fn gateway_refusals_say_why() {
    let clouds = clouds_with(&Settings::default(), true);
    let path = "/server/v2/getRegionList";
    let status = |r: &HttpRequest| {
        let reply = raw(&clouds, r, Instant::now());
        let value: Value = serde_json::from_slice(&reply.body).unwrap();
        (reply.status, value["error"]["errorCode"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(status(&signed(path, "", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &now_ms())).0, 200);
    assert_eq!(status(&signed(path, "", DEFAULT_ACCESS_KEY, "wrong", &now_ms())), (401, "200".into()));
    assert_eq!(status(&signed(path, "", "UNKNOWN", DEFAULT_SECRET_KEY, &now_ms())), (401, "210".into()));
    let stale = (chrono::Utc::now().timestamp_millis() - 6 * 60 * 1000).to_string();
    assert_eq!(status(&signed(path, "", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &stale)), (401, "200".into()));
    let mut missing = signed(path, "", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &now_ms());
    missing.headers.retain(|(n, _)| n != "x-ncp-apigw-signature-v1");
    assert_eq!(status(&missing), (400, "100".into()));
    let unknown = signed("/server/v2/noSuchAction", "", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &now_ms());
    assert_eq!(status(&unknown), (404, "300".into()));
    // -v2 carries the same signature.
    let mut v2 = signed(path, "", DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, &now_ms());
    for header in &mut v2.headers {
        if header.0 == "x-ncp-apigw-signature-v1" {
            header.0 = "x-ncp-apigw-signature-v2".into();
        }
    }
    assert_eq!(status(&v2).0, 200);
}

#[test]
fn the_seed_templates_key_works_through_accept_section() {
    let mut settings = Settings::default();
    let section = |name: &str| match name {
        "access_key" => Some("FRxhOQRNjKVMqIz3sRLY".to_string()),
        "secret_key" => Some("xd6kTO5iNcLookBx0D8TDKmpLj2ikxqEhc06MQD2".to_string()),
        _ => None,
    };
    clouds::accept_section(&mut settings, "ncloud", &section, &|_| None);
    let clouds = clouds_with(&settings, false);
    let ok = |access: &str, secret: &str| {
        raw(&clouds, &signed("/server/v2/getRegionList", "", access, secret, &now_ms()), Instant::now()).status
    };
    assert_eq!(ok("FRxhOQRNjKVMqIz3sRLY", "xd6kTO5iNcLookBx0D8TDKmpLj2ikxqEhc06MQD2"), 200);
    assert_eq!(ok(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY), 200, "the default key stays");
}

#[test]
fn ids_are_strings_and_public_ip_is_always_present() {
    let clouds = clouds_with(&Settings::default(), false);
    let regions = call(&clouds, "getRegionList", "");
    assert_eq!(regions["totalRows"], 6);
    assert_eq!(regions["regionList"][0]["regionNo"], "1");
    assert!(call(&clouds, "getZoneList", "regionNo=1")["zoneList"][0]["zoneNo"].is_string());
    call(&clouds, "createLoginKey", "keyName=key1");
    let created = call(
        &clouds,
        "createServerInstances",
        "serverImageProductCode=SPSW0LINUX000046&serverProductCode=SPSVRSTAND000004&memberServerImageNo=&loginKeyName=key1&zoneNo=",
    );
    let server = &created["serverInstanceList"][0];
    assert!(server["serverInstanceNo"].is_string(), "{server}");
    assert_eq!(server["publicIp"], "", "{server}");
    assert_eq!(refused(&clouds, "createLoginKey", "keyName=key1").1, "10005", "a duplicate name");
}

#[test]
fn the_public_ip_quota_allows_as_many_ips_as_servers() {
    let settings =
        Settings { ncloud: super::Settings { preexisting_public_ips: 1, ..Default::default() }, ..Default::default() };
    let clouds = clouds_with(&settings, false);
    call(&clouds, "createLoginKey", "keyName=key1");
    let one = "serverImageProductCode=SPSW0LINUX000046&loginKeyName=key1";
    call(&clouds, "createServerInstances", one);
    // One server, one preexisting IP: no room.
    assert_eq!(refused(&clouds, "createPublicIpInstance", ""), (400, "10006".into()));
    call(&clouds, "createServerInstances", one);
    call(&clouds, "createPublicIpInstance", "");
    assert_eq!(refused(&clouds, "createPublicIpInstance", ""), (400, "10006".into()), "more IPs than servers");
    assert_eq!(call(&clouds, "getPublicIpInstanceList", "")["totalRows"], 2);
}

#[test]
fn states_move_with_the_clock() {
    let common = Common { check_replay: false, latencies: Latencies::of(Profile::Fast, 1.0) };
    let clouds = Clouds::start(&Settings::default(), common);
    let t0 = Instant::now();
    let at = |action: &str, body: &str, after: u64| {
        call_at(&clouds, action, body, t0 + Duration::from_millis(after)).unwrap_or_else(|e| panic!("{action}: {e:?}"))
    };
    at("createLoginKey", "keyName=key1", 0);
    let no = at("createServerInstances", "serverImageProductCode=SPSW0WINNT000016&loginKeyName=key1", 0)
        ["serverInstanceList"][0]["serverInstanceNo"]
        .as_str()
        .unwrap()
        .to_string();
    let code = |after| {
        at("getServerInstanceList", &format!("serverInstanceNoList.1={no}"), after)["serverInstanceList"][0]["serverInstanceStatus"]["code"].as_str().unwrap().to_string()
    };
    assert_eq!(code(0), "INIT");
    assert_eq!(code(400), "CREAT");
    assert_eq!(code(2000), "RUN");
    let machine = clouds.machines(t0 + Duration::from_millis(2000)).into_iter().find(|m| m.id == no).unwrap();
    assert_eq!(machine.os, crate::cloud::OsFamily::Windows);
    assert!(machine.running && machine.public_key.is_none() && machine.password.is_some());
    assert!(machine.addresses.iter().all(|ip| ip.octets()[..2] == [127, 2]), "{:?}", machine.addresses);
    let early = call_at(
        &clouds,
        "terminateServerInstances",
        &format!("serverInstanceNoList.1={no}"),
        t0 + Duration::from_millis(2000),
    );
    assert_eq!(early.unwrap_err().0, 400, "a running server is not terminated");
    at("stopServerInstances", &format!("serverInstanceNoList.1={no}"), 2000);
    assert_eq!(code(2001), "RUN");
    assert_eq!(code(2400), "NSTOP");
}

#[test]
fn a_classic_build_leaves_nothing_behind() {
    let clouds = clouds_with(&Settings::default(), false);
    let key = call(&clouds, "createLoginKey", "keyName=packer-1607500800")["privateKey"].as_str().unwrap().to_string();
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let created = call(
        &clouds,
        "createServerInstances",
        &format!(
            "serverImageProductCode=SPSW0LINUX000046&serverProductCode=SPSVRSTAND000004&memberServerImageNo=\
             &loginKeyName=packer-1607500800&feeSystemTypeCode=MTRAT&userData={}&zoneNo=\
             &accessControlGroupConfigurationNoList.1=1",
            enc("IyEvYmluL3NoCg==")
        ),
    );
    let no = created["serverInstanceList"][0]["serverInstanceNo"].as_str().unwrap().to_string();
    assert_eq!(status(&clouds, &no), "RUN");
    let disk = call(&clouds, "createBlockStorageInstance", &format!("blockStorageSize=10&serverInstanceNo={no}"));
    let disk_no = disk["blockStorageInstanceList"][0]["blockStorageInstanceNo"].as_str().unwrap().to_string();
    assert_eq!(
        refused(&clouds, "createBlockStorageInstance", &format!("blockStorageSize=5&serverInstanceNo={no}")).1,
        "10002"
    );
    let disks = call(&clouds, "getBlockStorageInstanceList", &format!("serverInstanceNo={no}"));
    assert_eq!(disks["totalRows"], 2, "the BASIC disk and the new one");
    let wrong = crate::keys::generate_rsa().unwrap().private_pem;
    assert_eq!(
        refused(&clouds, "getRootPassword", &format!("serverInstanceNo={no}&privateKey={}", enc(&wrong))).1,
        "10007"
    );
    let password = call(&clouds, "getRootPassword", &format!("serverInstanceNo={no}&privateKey={}", enc(&key)));
    assert!(password["rootPassword"].as_str().is_some_and(|p| p.len() >= 8));
    let ip = call(&clouds, "createPublicIpInstance", &format!("serverInstanceNo={no}"));
    let ip = &ip["publicIpInstanceList"][0];
    let (ip_no, address) =
        (ip["publicIpInstanceNo"].as_str().unwrap().to_string(), ip["publicIp"].as_str().unwrap().to_string());
    let listed = call(&clouds, "getServerInstanceList", &format!("serverInstanceNoList.1={no}"));
    assert_eq!(listed["serverInstanceList"][0]["publicIp"], address.as_str());
    call(&clouds, "stopServerInstances", &format!("serverInstanceNoList.1={no}"));
    assert_eq!(status(&clouds, &no), "NSTOP");
    let image = call(
        &clouds,
        "createMemberServerImage",
        &format!("memberServerImageName=built&memberServerImageDescription=d&serverInstanceNo={no}"),
    );
    let image_no = image["memberServerImageList"][0]["memberServerImageNo"].as_str().unwrap().to_string();
    let images = call(&clouds, "getMemberServerImageList", &format!("memberServerImageNoList.1={image_no}"));
    assert_eq!(images["memberServerImageList"][0]["memberServerImageStatus"]["code"], "CREAT");
    assert_eq!(
        refused(
            &clouds,
            "deleteBlockStorageInstances",
            &format!(
                "blockStorageInstanceNoList.1={}",
                disks["blockStorageInstanceList"][0]["blockStorageInstanceNo"].as_str().unwrap()
            )
        )
        .1,
        "10004",
        "not the BASIC disk"
    );
    call(&clouds, "deleteBlockStorageInstances", &format!("blockStorageInstanceNoList.1={disk_no}"));
    assert_eq!(call(&clouds, "getBlockStorageInstanceList", &format!("serverInstanceNo={no}"))["totalRows"], 1);
    assert_eq!(
        refused(&clouds, "deletePublicIpInstances", &format!("publicIpInstanceNoList.1={ip_no}")).1,
        "10004",
        "assigned"
    );
    call(&clouds, "terminateServerInstances", &format!("serverInstanceNoList.1={no}"));
    assert_eq!(call(&clouds, "getServerInstanceList", &format!("serverInstanceNoList.1={no}"))["totalRows"], 0);
    let ips = call(&clouds, "getPublicIpInstanceList", &format!("publicIpInstanceNoList.1={ip_no}"));
    assert_eq!(ips["publicIpInstanceList"][0]["publicIpInstanceStatus"]["code"], "CREAT", "released by the terminate");
    call(&clouds, "deletePublicIpInstances", &format!("publicIpInstanceNoList.1={ip_no}"));
    call(&clouds, "deleteLoginKey", "keyName=packer-1607500800");
    assert_eq!(clouds::leftovers(&clouds.resources()), Vec::<String>::new());
    assert_eq!(
        clouds.resources()["ncloud_member_images"].as_array().unwrap().len(),
        2,
        "the seeded one and the new one"
    );
}

#[test]
fn xml_answers_carry_the_same_data() {
    let clouds = clouds_with(&Settings::default(), false);
    let request = signed(
        "/server/v2/getZoneList",
        "responseFormatType=xml&regionNo=1",
        DEFAULT_ACCESS_KEY,
        DEFAULT_SECRET_KEY,
        &now_ms(),
    );
    let reply = raw(&clouds, &request, Instant::now());
    let text = String::from_utf8(reply.body).unwrap();
    assert_eq!(reply.status, 200, "{text}");
    assert!(text.contains("<getZoneListResponse><requestId>"), "{text}");
    assert!(text.contains("<zoneList><zone><zoneNo>2</zoneNo>"), "{text}");
}

#[test]
fn a_guest_shutdown_stops_the_server_and_leftovers_name_what_a_build_left() {
    let settings = Settings {
        ncloud: super::Settings { root_password: Some("Real-pw-1".into()), ..Default::default() },
        ..Default::default()
    };
    let clouds = clouds_with(&settings, false);
    call(&clouds, "createLoginKey", "keyName=key1");
    let created = call(&clouds, "createServerInstances", "serverImageProductCode=SPSW0LINUX000139&loginKeyName=key1");
    let no = created["serverInstanceList"][0]["serverInstanceNo"].as_str().unwrap().to_string();
    let machine = clouds.machines(Instant::now()).into_iter().find(|m| m.id == no).unwrap();
    assert_eq!((machine.os, machine.password.as_deref()), (crate::cloud::OsFamily::Linux, Some("Real-pw-1")));
    crate::cloud::MachineLookup::guest_shut_down(&clouds, &no);
    assert_eq!(status(&clouds, &no), "NSTOP");
    let mut left = clouds::leftovers(&clouds.resources());
    left.sort();
    assert_eq!(left, ["ncloud_login_key key1".to_string(), format!("ncloud_server {no}")]);
}

//! VPCs, VSwitches, security groups and EIPs. Deleting something that
//! still has dependents fails with the codes the real API uses, so that
//! clients must undo in the right order (or retry).

use super::{Ctx, region};
use crate::alicloud::error::ApiError;
use crate::alicloud::world::{Eip, Rule, SecurityGroup, Timed, VSwitch, Vpc};
use serde_json::{Value, json};
use std::net::Ipv4Addr;

/// A parsed IPv4 CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    base: u32,
    len: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` with host bits zero.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (ip, len) = text.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        let base = u32::from(ip);
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        (base & !mask == 0).then_some(Cidr { base, len })
    }

    fn mask(self) -> u32 {
        if self.len == 0 { 0 } else { u32::MAX << (32 - self.len) }
    }

    /// Whether `other` lies inside this block.
    pub fn contains(self, other: Cidr) -> bool {
        other.len >= self.len && other.base & self.mask() == self.base
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(self, other: Cidr) -> bool {
        let mask = self.mask() & other.mask();
        self.base & mask == other.base & mask
    }
}

fn vpc_value(v: &Vpc, ctx: &Ctx) -> Value {
    let vswitches: Vec<&str> =
        ctx.world.vswitches.values().filter(|s| s.vpc_id == v.id).map(|s| s.id.as_str()).collect();
    json!({
        "VpcId": v.id, "RegionId": v.region, "VpcName": v.name, "CidrBlock": v.cidr, "Status": v.state.status,
        "VRouterId": v.vrouter, "IsDefault": false, "VSwitchIds": {"VSwitchId": vswitches},
    })
}

pub fn create_vpc(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("CreateVpc", |ctx| {
        let region = ctx.region()?;
        let cidr = ctx.args.opt("CidrBlock").unwrap_or("172.16.0.0/12").to_string();
        let block = Cidr::parse(&cidr)
            .ok_or_else(|| ApiError::bad("InvalidCidrBlock.Malformed", "The specified CIDR block is not valid."))?;
        let allowed = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .any(|a| a.contains(block));
        if !allowed || !(8..=24).contains(&block.len) {
            return Err(ApiError::bad(
                "InvalidCidrBlock.Malformed",
                "The CIDR block must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, with a mask of 8 to 24.",
            ));
        }
        if ctx.world.vpcs.values().filter(|v| v.region == region).count() >= 10 {
            return Err(ApiError::forbidden("QuotaExceeded.Vpc", "The maximum number of VPCs is exceeded."));
        }
        let id = ctx.world.new_id("vpc-");
        let vrouter = ctx.world.new_id("vrt-");
        let route_table = ctx.world.new_id("vtb-");
        let vpc = Vpc {
            id: id.clone(),
            region,
            name: ctx.args.opt("VpcName").unwrap_or("").to_string(),
            cidr,
            vrouter: vrouter.clone(),
            route_table: route_table.clone(),
            state: Timed::moving("Pending", "Available", ctx.latencies.vpc, ctx.now),
        };
        ctx.world.vpcs.insert(id.clone(), vpc);
        Ok(json!({"VpcId": id, "VRouterId": vrouter, "RouteTableId": route_table}))
    })
}

pub fn describe_vpcs(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.opt("VpcId");
    let name = ctx.args.opt("VpcName");
    let items: Vec<Value> = ctx
        .world
        .vpcs
        .values()
        .filter(|v| {
            v.region == region && id.is_none_or(|i| i.split(',').any(|x| x == v.id)) && name.is_none_or(|n| n == v.name)
        })
        .map(|v| vpc_value(v, ctx))
        .collect();
    super::page(ctx, "Vpcs", "Vpc", items)
}

pub fn delete_vpc(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("VpcId")?.to_string();
    let vpc = ctx.world.vpcs.get(&id).ok_or_else(|| ApiError::no_such("VpcId", &id))?;
    if vpc.state.busy() {
        return Err(ApiError::status("IncorrectVpcStatus", "The VPC is not available yet."));
    }
    if ctx.world.vswitches.values().any(|s| s.vpc_id == id) {
        return Err(ApiError::dependency(
            "DependencyViolation.VSwitch",
            "The specified VPC has VSwitches; delete them first.",
        ));
    }
    if ctx.world.security_groups.values().any(|g| g.vpc_id == id) {
        return Err(ApiError::dependency(
            "DependencyViolation.SecurityGroup",
            "The specified VPC has security groups; delete them first.",
        ));
    }
    if ctx.world.instances.values().any(|i| i.vpc_id == id) {
        return Err(ApiError::dependency(
            "DependencyViolation.Instance",
            "The specified VPC has instances; delete them first.",
        ));
    }
    ctx.world.vpcs.remove(&id);
    Ok(json!({}))
}

pub fn create_vswitch(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("CreateVSwitch", |ctx| {
        let vpc_id = ctx.args.req("VpcId")?.to_string();
        let zone = ctx.args.req("ZoneId")?.to_string();
        let cidr = ctx.args.req("CidrBlock")?.to_string();
        let vpc = ctx.world.vpcs.get(&vpc_id).ok_or_else(|| ApiError::no_such("VpcId", &vpc_id))?.clone();
        if vpc.state.status != "Available" {
            return Err(ApiError::status("IncorrectVpcStatus", "The VPC is not available yet."));
        }
        if !region::zone_exists(&vpc.region, &zone) {
            return Err(ApiError::no_such("ZoneId", &zone));
        }
        let block = Cidr::parse(&cidr)
            .ok_or_else(|| ApiError::bad("InvalidCidrBlock.Malformed", "The specified CIDR block is not valid."))?;
        let outer = Cidr::parse(&vpc.cidr).expect("checked at creation");
        if !outer.contains(block) || !(16..=29).contains(&block.len) {
            return Err(ApiError::bad(
                "InvalidCidrBlock.Malformed",
                format!("The VSwitch CIDR block must lie inside the VPC's {} with a mask of 16 to 29.", vpc.cidr),
            ));
        }
        let overlapping = ctx
            .world
            .vswitches
            .values()
            .filter(|s| s.vpc_id == vpc_id)
            .any(|s| Cidr::parse(&s.cidr).is_some_and(|c| c.overlaps(block)));
        if overlapping {
            return Err(ApiError::bad(
                "InvalidCidrBlock.Overlapped",
                "The specified CIDR block overlaps with another VSwitch's.",
            ));
        }
        let id = ctx.world.new_id("vsw-");
        let vswitch = VSwitch {
            id: id.clone(),
            region: vpc.region,
            vpc_id,
            zone,
            cidr,
            name: ctx.args.opt("VSwitchName").unwrap_or("").to_string(),
            state: Timed::moving("Pending", "Available", ctx.latencies.vswitch, ctx.now),
        };
        ctx.world.vswitches.insert(id.clone(), vswitch);
        Ok(json!({"VSwitchId": id}))
    })
}

pub fn describe_vswitches(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region().ok();
    let id = ctx.args.opt("VSwitchId");
    let vpc = ctx.args.opt("VpcId");
    let zone = ctx.args.opt("ZoneId");
    let items: Vec<Value> = ctx
        .world
        .vswitches
        .values()
        .filter(|s| region.as_ref().is_none_or(|r| *r == s.region))
        .filter(|s| {
            id.is_none_or(|i| i == s.id) && vpc.is_none_or(|v| v == s.vpc_id) && zone.is_none_or(|z| z == s.zone)
        })
        .map(|s| {
            json!({"VSwitchId": s.id, "VpcId": s.vpc_id, "ZoneId": s.zone, "CidrBlock": s.cidr, "VSwitchName": s.name,
                   "Status": s.state.status, "AvailableIpAddressCount": 252})
        })
        .collect();
    super::page(ctx, "VSwitches", "VSwitch", items)
}

pub fn delete_vswitch(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("VSwitchId")?.to_string();
    let vswitch = ctx.world.vswitches.get(&id).ok_or_else(|| ApiError::no_such("VSwitchId", &id))?;
    if vswitch.state.busy() {
        return Err(ApiError::status("IncorrectVSwitchStatus", "The VSwitch is not available yet."));
    }
    if ctx.world.instances.values().any(|i| i.vswitch_id == id) {
        return Err(ApiError::dependency("DependencyViolation", "The specified VSwitch has instances in it."));
    }
    ctx.world.vswitches.remove(&id);
    Ok(json!({}))
}

pub fn create_security_group(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("CreateSecurityGroup", |ctx| {
        let region = ctx.region()?;
        let vpc_id = ctx.args.opt("VpcId").unwrap_or("").to_string();
        if !vpc_id.is_empty() && ctx.world.vpcs.get(&vpc_id).is_none_or(|v| v.region != region) {
            return Err(ApiError::no_such("VpcId", &vpc_id));
        }
        let name = ctx.args.opt("SecurityGroupName").unwrap_or("").to_string();
        if !name.is_empty()
            && (!(2..=128).contains(&name.chars().count())
                || name.starts_with("http://")
                || name.starts_with("https://"))
        {
            return Err(ApiError::invalid(
                "SecurityGroupName",
                "2-128 characters, not starting with http:// or https://",
            ));
        }
        let id = ctx.world.new_id("sg-");
        ctx.world.security_groups.insert(
            id.clone(),
            SecurityGroup {
                id: id.clone(),
                region,
                vpc_id,
                name,
                description: ctx.args.opt("Description").unwrap_or("").to_string(),
                rules: Vec::new(),
            },
        );
        Ok(json!({"SecurityGroupId": id}))
    })
}

pub fn describe_security_groups(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.opt("SecurityGroupId");
    let ids = ctx.args.json_list("SecurityGroupIds")?;
    let vpc = ctx.args.opt("VpcId");
    let items: Vec<Value> = ctx
        .world
        .security_groups
        .values()
        .filter(|g| g.region == region && id.is_none_or(|i| i == g.id) && vpc.is_none_or(|v| v == g.vpc_id))
        .filter(|g| ids.as_ref().is_none_or(|ids| ids.contains(&g.id)))
        .map(|g| json!({"SecurityGroupId": g.id, "SecurityGroupName": g.name, "VpcId": g.vpc_id, "Description": g.description}))
        .collect();
    super::page(ctx, "SecurityGroups", "SecurityGroup", items)
}

pub fn describe_security_group_attribute(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("SecurityGroupId")?;
    let group = ctx.world.security_groups.get(id).ok_or_else(|| ApiError::no_such("SecurityGroupId", id))?;
    let rules: Vec<Value> = group
        .rules
        .iter()
        .map(|r| {
            json!({"Direction": r.direction, "IpProtocol": r.protocol, "PortRange": r.ports,
                        "SourceCidrIp": if r.direction == "ingress" { r.cidr.as_str() } else { "" },
                        "DestCidrIp": if r.direction == "egress" { r.cidr.as_str() } else { "" },
                        "NicType": r.nic_type, "Policy": r.policy})
        })
        .collect();
    Ok(json!({"SecurityGroupId": group.id, "VpcId": group.vpc_id, "Permissions": {"Permission": rules}}))
}

pub fn authorize(ctx: &mut Ctx, direction: &'static str) -> Result<Value, ApiError> {
    let id = ctx.args.req("SecurityGroupId")?.to_string();
    let protocol = ctx.args.req("IpProtocol")?.to_ascii_lowercase();
    let ports = ctx.args.req("PortRange")?.to_string();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "icmp" | "gre" | "all") {
        return Err(ApiError::invalid("IpProtocol", "must be tcp, udp, icmp, gre or all"));
    }
    let valid_ports = match ports.split_once('/') {
        Some((a, b)) => match (a.parse::<i32>(), b.parse::<i32>()) {
            (Ok(-1), Ok(-1)) => matches!(protocol.as_str(), "icmp" | "gre" | "all"),
            (Ok(a), Ok(b)) => (1..=65535).contains(&a) && (a..=65535).contains(&b),
            _ => false,
        },
        None => false,
    };
    if !valid_ports {
        return Err(ApiError::invalid("PortRange", &format!("{ports:?} is not valid for {protocol}")));
    }
    let cidr_param = if direction == "ingress" { "SourceCidrIp" } else { "DestCidrIp" };
    let cidr = ctx.args.opt(cidr_param).unwrap_or("0.0.0.0/0").to_string();
    if Cidr::parse(&cidr).is_none() {
        return Err(ApiError::invalid(cidr_param, "not a CIDR block"));
    }
    let rule = Rule {
        direction,
        protocol,
        ports,
        cidr,
        nic_type: ctx.args.opt("NicType").unwrap_or("internet").to_string(),
        policy: ctx.args.opt("Policy").unwrap_or("accept").to_string(),
    };
    let group = ctx.world.security_groups.get_mut(&id).ok_or_else(|| ApiError::no_such("SecurityGroupId", &id))?;
    if !group.rules.contains(&rule) {
        group.rules.push(rule);
    }
    Ok(json!({}))
}

pub fn delete_security_group(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("SecurityGroupId")?.to_string();
    if !ctx.world.security_groups.contains_key(&id) {
        return Err(ApiError::no_such("SecurityGroupId", &id));
    }
    if ctx.world.instances.values().any(|i| i.security_groups.contains(&id)) {
        return Err(ApiError::dependency(
            "DependencyViolation",
            "There is still instance(s) in the specified security group.",
        ));
    }
    ctx.world.security_groups.remove(&id);
    Ok(json!({}))
}

fn eip_value(e: &Eip, ctx: &Ctx) -> Value {
    let instance = e.instance_id.clone().unwrap_or_default();
    let _ = ctx;
    json!({"AllocationId": e.id, "IpAddress": e.ip.to_string(), "RegionId": e.region, "Status": e.state.status,
           "Bandwidth": e.bandwidth.to_string(), "InternetChargeType": e.charge_type, "InstanceId": instance,
           "InstanceType": if instance.is_empty() { "" } else { "EcsInstance" }})
}

pub fn allocate_eip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("AllocateEipAddress", |ctx| {
        let region = ctx.region()?;
        let bandwidth = ctx.args.int("Bandwidth")?.unwrap_or(5);
        if !(1..=200).contains(&bandwidth) {
            return Err(ApiError::invalid("Bandwidth", "must be 1-200 Mbps"));
        }
        let charge = ctx.args.opt("InternetChargeType").unwrap_or("PayByBandwidth").to_string();
        if !matches!(charge.as_str(), "PayByTraffic" | "PayByBandwidth") {
            return Err(ApiError::invalid("InternetChargeType", "must be PayByTraffic or PayByBandwidth"));
        }
        if ctx.world.eips.values().filter(|e| e.region == region).count() >= 20 {
            return Err(ApiError::forbidden("QuotaExceeded.Eip", "The maximum number of EIPs is exceeded."));
        }
        let id = ctx.world.new_id("eip-");
        let ip = ctx.world.new_ip();
        ctx.world.eips.insert(
            id.clone(),
            Eip {
                id: id.clone(),
                region,
                ip,
                bandwidth,
                charge_type: charge,
                instance_id: None,
                state: Timed::new("Available"),
            },
        );
        Ok(json!({"AllocationId": id, "EipAddress": ip.to_string()}))
    })
}

pub fn describe_eips(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.opt("AllocationId");
    let ip = ctx.args.opt("EipAddress");
    let status = ctx.args.opt("Status");
    let items: Vec<Value> = ctx
        .world
        .eips
        .values()
        .filter(|e| e.region == region && id.is_none_or(|i| i == e.id) && ip.is_none_or(|a| a == e.ip.to_string()))
        .filter(|e| status.is_none_or(|s| s == e.state.status))
        .map(|e| eip_value(e, ctx))
        .collect();
    super::page(ctx, "EipAddresses", "EipAddress", items)
}

pub fn associate_eip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("AllocationId")?.to_string();
    let instance_id = ctx.args.req("InstanceId")?.to_string();
    let (now, after) = (ctx.now, ctx.latencies.eip);
    let instance =
        ctx.world.instances.get(&instance_id).ok_or_else(|| ApiError::no_such("InstanceId", &instance_id))?;
    if instance.deleting() || !matches!(instance.state.status.as_str(), "Stopped" | "Running") {
        return Err(ApiError::status("IncorrectInstanceStatus", "The instance must be Stopped or Running."));
    }
    if instance.eip.is_some() {
        return Err(ApiError::status("InvalidAssociation.Duplicated", "The instance already has an EIP."));
    }
    let eip = ctx.world.eips.get_mut(&id).ok_or_else(|| ApiError::no_such("AllocationId", &id))?;
    if eip.state.status != "Available" || eip.state.busy() {
        return Err(ApiError::status("IncorrectEipStatus", format!("The EIP is {}.", eip.state.status)));
    }
    eip.instance_id = Some(instance_id.clone());
    eip.state.set("Associating", "InUse", after, now);
    ctx.world.instances.get_mut(&instance_id).expect("checked").eip = Some(id);
    Ok(json!({}))
}

pub fn unassociate_eip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("AllocationId")?.to_string();
    let (now, after) = (ctx.now, ctx.latencies.eip);
    let eip = ctx.world.eips.get_mut(&id).ok_or_else(|| ApiError::no_such("AllocationId", &id))?;
    if eip.state.status != "InUse" || eip.state.busy() {
        return Err(ApiError::status("IncorrectEipStatus", format!("The EIP is {}.", eip.state.status)));
    }
    let instance = eip.instance_id.take();
    eip.state.set("Unassociating", "Available", after, now);
    if let Some(i) = instance.and_then(|i| ctx.world.instances.get_mut(&i)) {
        i.eip = None;
    }
    Ok(json!({}))
}

pub fn release_eip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("AllocationId")?.to_string();
    let eip = ctx.world.eips.get(&id).ok_or_else(|| ApiError::no_such("AllocationId", &id))?;
    if eip.state.status != "Available" || eip.state.busy() {
        return Err(ApiError::status(
            "IncorrectEipStatus",
            format!("The EIP is {}; unassociate it first.", eip.state.status),
        ));
    }
    let ip = eip.ip;
    ctx.world.eips.remove(&id);
    ctx.world.release_ip(ip);
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_containment_and_overlap() {
        let vpc = Cidr::parse("172.16.0.0/16").unwrap();
        assert!(vpc.contains(Cidr::parse("172.16.1.0/24").unwrap()));
        assert!(!vpc.contains(Cidr::parse("172.17.0.0/24").unwrap()));
        assert!(Cidr::parse("172.16.0.0/24").unwrap().overlaps(Cidr::parse("172.16.0.128/25").unwrap()));
        assert!(!Cidr::parse("172.16.0.0/24").unwrap().overlaps(Cidr::parse("172.16.1.0/24").unwrap()));
        assert_eq!(Cidr::parse("172.16.0.1/16"), None);
    }
}

//! Security groups and their rules (ingress, egress). Deleting one that
//! instances still use fails.

use super::cidr::Cidr;
use super::context::{self, Ctx};
use crate::alicloud::error::ApiError;
use crate::alicloud::world::{Rule, SecurityGroup};
use serde_json::{Value, json};

/// `CreateSecurityGroup`: a new, empty security group in a VPC.
pub(super) fn create_security_group(ctx: &mut Ctx) -> Result<Value, ApiError> {
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

/// `DescribeSecurityGroups`: the region's security groups, filtered as the request asks.
pub(super) fn describe_security_groups(ctx: &mut Ctx) -> Result<Value, ApiError> {
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
    context::page(ctx, "SecurityGroups", "SecurityGroup", items)
}

/// `DescribeSecurityGroupAttribute`: one group with its rules.
pub(super) fn describe_security_group_attribute(ctx: &mut Ctx) -> Result<Value, ApiError> {
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

/// `AuthorizeSecurityGroup` (`direction` `ingress`) or `AuthorizeSecurityGroupEgress` (`egress`): adds a rule.
pub(super) fn authorize(ctx: &mut Ctx, direction: &'static str) -> Result<Value, ApiError> {
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

/// `DeleteSecurityGroup`: deletes a security group.
pub(super) fn delete_security_group(ctx: &mut Ctx) -> Result<Value, ApiError> {
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

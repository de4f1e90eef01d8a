//! The account's classic access control group (one, its default: the
//! classic API cannot create them).

use super::context::{Ctx, list};
use crate::ncloud::catalog;
use crate::ncloud::error::ApiError;
use serde_json::{Value, json};

/// getAccessControlGroupList: the default group.
pub fn get_access_control_group_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let wanted = ctx.args.list("accessControlGroupConfigurationNoList");
    let items = [catalog::DEFAULT_ACG_NO]
        .iter()
        .filter(|no| wanted.is_empty() || wanted.iter().any(|w| w == *no))
        .map(|no| {
            json!({"accessControlGroupConfigurationNo": no, "accessControlGroupName": catalog::DEFAULT_ACG_NAME,
                   "accessControlGroupDescription": "Default AccessControlGroup", "isDefault": true,
                   "createDate": "2020-01-01T00:00:00+0000"})
        })
        .collect();
    Ok(list("accessControlGroupList", items))
}

/// getAccessControlRuleList(accessControlGroupConfigurationNo): its
/// rules. Fails for an unknown group.
pub fn get_access_control_rule_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let no = ctx.args.req("accessControlGroupConfigurationNo")?;
    if no != catalog::DEFAULT_ACG_NO {
        return Err(ApiError::no_such("access control group", no));
    }
    let items = catalog::DEFAULT_ACG_RULES
        .iter()
        .enumerate()
        .map(|(i, (protocol, ip, port))| {
            json!({"accessControlRuleConfigurationNo": (i + 1).to_string(),
                   "protocolType": catalog::code(protocol, protocol), "sourceIp": ip,
                   "sourceAccessControlRuleConfigurationNo": "", "sourceAccessControlRuleName": "",
                   "destinationPort": port, "accessControlRuleDescription": ""})
        })
        .collect();
    Ok(list("accessControlRuleList", items))
}

//! A template file's text through kiln's loader: JSON syntax, structure,
//! variables (with their interpolation), and the errors' wording.

#![no_main]

use kiln::template::{Overrides, from_text};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // kiln reads templates with read_to_string: only UTF-8 gets further.
    let Ok(text) = std::str::from_utf8(data) else { return };
    for allow_unset in [false, true] {
        let overrides = Overrides { allow_unset, ..Overrides::default() };
        match from_text(Path::new("/fuzz/template.json"), text, &overrides) {
            Ok(template) => {
                let _ = template.select_builders(&[], &[]).map_err(|p| p.to_string());
                for builder in &template.builders {
                    let _ = template.select_builders(&[builder.name.clone()], &[]);
                    let _ = template.select_builders(&[], &[format!("{}*", builder.name)]);
                }
                for provisioner in &template.provisioners {
                    for builder in &template.builders {
                        let _ = provisioner.config_for(&builder.name);
                    }
                }
            }
            // What the user would read must render too.
            Err(error) => drop(error.to_string()),
        }
    }
});

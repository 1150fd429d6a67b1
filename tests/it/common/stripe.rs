//! Stripe's published spec names sibling path variables differently (`/v1/application_fees/{id}`
//! next to `/v1/application_fees/{fee}/refunds`), which API Gateway (and gw) rejects. Renaming
//! them to one name per level makes all 468 operations importable; tests and the import
//! benchmark use that variant.

use std::collections::HashMap;

/// Rename path variables so that siblings share the first name seen at each level; returns how
/// many paths changed.
pub fn unify_sibling_path_variables(root: &mut serde_json::Value) -> usize {
    let Some(paths) = root.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return 0;
    };
    let mut chosen: HashMap<String, String> = HashMap::new();
    let mut renamed = 0;
    for (path, item) in std::mem::take(paths) {
        let mut out = String::new();
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            let seg = if seg.starts_with('{') {
                chosen
                    .entry(out.clone())
                    .or_insert_with(|| seg.to_string())
                    .clone()
            } else {
                seg.to_string()
            };
            out.push('/');
            out.push_str(&seg);
        }
        renamed += usize::from(out != path);
        paths.insert(out, item);
    }
    renamed
}

//! The files a sending page offers: from a `FileList`, `File`s, or `{file, path}` items (a
//! dropped folder), each with the relative path it should arrive at.

use peerdrop_core::FileEntry;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::File;

/// Files with the relative path each should arrive at.
pub(super) fn collect_files(value: &JsValue) -> Vec<(File, String)> {
    let mut out = Vec::new();
    if let Some(list) = value.dyn_ref::<web_sys::FileList>() {
        for i in 0..list.length() {
            out.extend(list.get(i).map(with_path));
        }
    } else if let Some(array) = value.dyn_ref::<js_sys::Array>() {
        for v in array.iter() {
            if let Ok(file) = v.clone().dyn_into::<File>() {
                out.push(with_path(file));
            } else if let Some(item) = send_item(&v) {
                out.push(item);
            }
        }
    } else if let Ok(file) = value.clone().dyn_into::<File>() {
        out.push(with_path(file));
    }
    out
}

/// `{file, path}` from `itemsFromDrop()` or the application.
fn send_item(v: &JsValue) -> Option<(File, String)> {
    let file = js_sys::Reflect::get(v, &"file".into()).ok()?.dyn_into::<File>().ok()?;
    let path = js_sys::Reflect::get(v, &"path".into()).ok()?.as_string()?;
    Some((file, path))
}

/// A picked file's path: its folder-relative path when a folder was picked.
fn with_path(file: File) -> (File, String) {
    let relative = js_sys::Reflect::get(&file, &"webkitRelativePath".into())
        .ok()
        .and_then(|v| v.as_string())
        .filter(|p| !p.is_empty());
    let path = relative.unwrap_or_else(|| file.name());
    (file, path)
}

pub(super) fn entry_for((file, path): &(File, String)) -> FileEntry {
    FileEntry {
        path: path.clone(),
        size: file.size() as u64,
        modified_ms: file.last_modified() as i64,
        mime: peerdrop_core::manifest::clip_mime(&file.type_()).to_string(),
    }
}

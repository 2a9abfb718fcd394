//! The HTML pages' frame.

use axum::response::Html;

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · Recipe shop</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto}}\
         .product{{border:1px solid #ddd;border-radius:10px;padding:1rem;margin:1rem 0}}\
         button{{font-size:1rem;padding:.5rem 1rem}} .paid{{color:#2b8a3e}} .pending{{color:#e67700}}\
         .failed,.expired{{color:#c92a2a}} .review{{color:#5f3dc4}}</style>\
         </head><body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    ))
}

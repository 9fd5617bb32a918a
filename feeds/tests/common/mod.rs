//! Documents shared by the feed tests.

fn cap_msg(id: &str, sent: &str, msg_type: &str, refs: &str, headline: &str) -> Vec<u8> {
    let refs = if refs.is_empty() {
        String::new()
    } else {
        format!("<references>{refs}</references>")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{id}</identifier><sender>12379@cma.gov.cn</sender><sent>{sent}</sent><status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}<info><language>zh-CN</language><category>Met</category><event>暴雨</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty><headline>{headline}</headline><area><areaDesc>浦东新区</areaDesc><circle>31.23,121.50 5</circle><geocode><valueName>GB/T 2260</valueName><value>310115</value></geocode></area></info></alert>"#
    )
    .into_bytes()
}

/// A CAP alert, its update and its cancellation, as China's early-warning release would send
/// them; also used by the client tests.
#[allow(dead_code)]
pub fn rain_chain() -> [(String, Vec<u8>); 3] {
    [
        (
            "a_alert.xml".into(),
            cap_msg("RS-001", "2026-11-22T10:00:00+08:00", "Alert", "", "暴雨黄色预警"),
        ),
        (
            "b_update.xml".into(),
            cap_msg(
                "RS-002",
                "2026-11-22T11:00:00+08:00",
                "Update",
                "12379@cma.gov.cn,RS-001,2026-11-22T10:00:00+08:00",
                "暴雨橙色预警",
            ),
        ),
        (
            "c_cancel.xml".into(),
            cap_msg(
                "RS-003",
                "2026-11-22T14:00:00+08:00",
                "Cancel",
                "12379@cma.gov.cn,RS-002,2026-11-22T11:00:00+08:00",
                "解除暴雨预警",
            ),
        ),
    ]
}

//! The HTTP-filter part of Envoy's dynamic-modules ABI this module uses
//! (the companion cookie filter, [`crate::session`]), declared by hand as in
//! [`crate::abi`]: one declaration per callback, each naming its ABI
//! function. The event hooks Envoy calls are defined in `http.rs`.

#[cfg(not(test))]
use crate::abi::{EnvoyBuffer, ModuleBuffer};

/// `envoy_dynamic_module_type_http_filter_config_envoy_ptr`.
pub type HttpConfigEnvoyPtr = *mut core::ffi::c_void;
/// `envoy_dynamic_module_type_http_filter_config_module_ptr`.
pub type HttpConfigModulePtr = *const core::ffi::c_void;
/// `envoy_dynamic_module_type_http_filter_envoy_ptr`.
pub type HttpFilterEnvoyPtr = *mut core::ffi::c_void;
/// `envoy_dynamic_module_type_http_filter_module_ptr`.
pub type HttpFilterModulePtr = *const core::ffi::c_void;

/// `envoy_dynamic_module_type_http_header_type`.
pub type HeaderType = u32;
/// `envoy_dynamic_module_type_http_header_type_RequestHeader`.
pub const REQUEST_HEADER: HeaderType = 0;
/// `envoy_dynamic_module_type_http_header_type_ResponseHeader`.
pub const RESPONSE_HEADER: HeaderType = 2;

/// `envoy_dynamic_module_type_attribute_id`.
pub type AttributeId = u32;
/// `envoy_dynamic_module_type_attribute_id_UpstreamAddress` (`upstream.address`).
pub const ATTRIBUTE_UPSTREAM_ADDRESS: AttributeId = 41;

/// `envoy_dynamic_module_type_metadata_source`.
pub type MetadataSource = u32;
/// `envoy_dynamic_module_type_metadata_source_Host`: the upstream host's endpoint metadata.
pub const METADATA_HOST: MetadataSource = 3;

/// The `*_status` every header, body and trailer hook answers:
/// `..._Continue` is 0 in each of those enums.
pub type Status = u32;
/// `envoy_dynamic_module_type_on_http_filter_*_status_Continue`.
pub const CONTINUE: Status = 0;

#[cfg(not(test))]
extern "C" {
    /// `envoy_dynamic_module_callback_http_get_header`
    pub fn envoy_dynamic_module_callback_http_get_header(
        filter: HttpFilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        result: *mut EnvoyBuffer,
        index: usize,
        optional_size: *mut usize,
    ) -> bool;
    /// `envoy_dynamic_module_callback_http_set_header` (an empty value buffer
    /// with a null pointer removes the header).
    pub fn envoy_dynamic_module_callback_http_set_header(
        filter: HttpFilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    /// `envoy_dynamic_module_callback_http_add_header`
    pub fn envoy_dynamic_module_callback_http_add_header(
        filter: HttpFilterEnvoyPtr,
        header_type: HeaderType,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    /// `envoy_dynamic_module_callback_http_filter_get_attribute_string`
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_string(
        filter: HttpFilterEnvoyPtr,
        attribute: AttributeId,
        result: *mut EnvoyBuffer,
    ) -> bool;
    /// `envoy_dynamic_module_callback_http_get_metadata_string`
    pub fn envoy_dynamic_module_callback_http_get_metadata_string(
        filter: HttpFilterEnvoyPtr,
        source: MetadataSource,
        namespace: ModuleBuffer,
        key: ModuleBuffer,
        result: *mut EnvoyBuffer,
    ) -> bool;
}

/// Every callback declared above, by symbol name (checked at load with
/// [`crate::abi::CALLBACKS`]).
pub const CALLBACKS: &[&str] = &[
    "envoy_dynamic_module_callback_http_get_header",
    "envoy_dynamic_module_callback_http_set_header",
    "envoy_dynamic_module_callback_http_add_header",
    "envoy_dynamic_module_callback_http_filter_get_attribute_string",
    "envoy_dynamic_module_callback_http_get_metadata_string",
];

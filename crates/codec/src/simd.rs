//! Runtime dispatch of the tile coder to an AVX2 build on x86-64 CPUs that have it.
//!
//! The coder is plain Rust (no intrinsics): compiled a second time with AVX2 enabled, LLVM widens its loops, above
//! all the prediction's 32 x 32 -> 64-bit multiplies (`vpmuldq`, which baseline x86-64 lacks). The results are
//! identical either way (integer arithmetic only), so a stream does not depend on the CPU that wrote it.

/// Defines `pub(crate) fn $name(args) -> R` that calls `$body_fn(args)` compiled with AVX2 (and the features
/// listed after `with`, if any) when the CPU has them all, else the baseline build. `$body_fn` must be
/// `#[inline(always)]` (and so must the hot functions it calls) so that the AVX2 copy holds the whole loop nest.
macro_rules! avx2_dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty => $body_fn:ident
        $(with $($feature:tt),+)?) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                $($(#[target_feature(enable = $feature)])+)?
                #[allow(unsafe_code)]
                unsafe fn with_avx2($($arg: $ty),*) -> $ret {
                    $body_fn($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    $($(&& std::arch::is_x86_feature_detected!($feature))+)?
                {
                    // SAFETY: the CPU has every feature the function is compiled for (checked just above), the
                    // only requirement of calling a `target_feature` function.
                    #[allow(unsafe_code)]
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            $body_fn($($arg),*)
        }
    };
}

pub(crate) use avx2_dispatch;

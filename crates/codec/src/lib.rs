//! The 2-D DAS array codec: tiles, transforms, context-modelled entropy coding.
#![forbid(unsafe_code)]

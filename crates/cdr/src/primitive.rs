/// A fixed-size CDR primitive: aligned to its own size and copied in bulk inside arrays.
pub trait Primitive: Copy + Default + 'static {
    /// Encoded size in bytes, which is also the alignment.
    const SIZE: usize;
    /// Appends the little-endian bytes of `self`.
    fn put_le(self, out: &mut Vec<u8>);
    /// Reads a value from exactly `SIZE` bytes.
    fn get(bytes: &[u8], big_endian: bool) -> Self;
}

macro_rules! numeric_primitive {
    ($($t:ty),*) => {$(
        impl Primitive for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn get(bytes: &[u8], big_endian: bool) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                if big_endian { <$t>::from_be_bytes(raw) } else { <$t>::from_le_bytes(raw) }
            }
        }
    )*};
}

numeric_primitive!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

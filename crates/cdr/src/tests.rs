use super::*;

#[test]
fn string_hello_matches_ros2_bytes() {
    let mut w = CdrWriter::new();
    w.write_string("Hello").unwrap();
    assert_eq!(
        w.finish(),
        [0, 1, 0, 0, 6, 0, 0, 0, b'H', b'e', b'l', b'l', b'o', 0]
    );
}

#[test]
fn alignment_counts_from_end_of_header() {
    let mut w = CdrWriter::new();
    w.write(1u8);
    w.write(2.0f64);
    let b = w.finish();
    // 4 header + 1 byte + 7 padding + 8 double
    assert_eq!(b.len(), 20);
    assert_eq!(&b[4..12], &[1, 0, 0, 0, 0, 0, 0, 0]);
    let mut r = CdrReader::new(&b).unwrap();
    assert_eq!(r.read::<u8>().unwrap(), 1);
    assert_eq!(r.read::<f64>().unwrap(), 2.0);
    assert_eq!(r.remaining(), 0);
}

#[test]
fn big_endian_payload_reads() {
    let b = [0, 0, 0, 0, 0, 0, 0, 2, 0x12, 0x34];
    let mut r = CdrReader::new(&b).unwrap();
    assert!(r.big_endian());
    assert_eq!(r.read::<u32>().unwrap(), 2);
    assert_eq!(r.read::<u16>().unwrap(), 0x1234);
}

#[test]
fn hostile_length_is_an_error_not_an_allocation() {
    let b = [0, 1, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 2];
    let mut r = CdrReader::new(&b).unwrap();
    assert_eq!(
        r.read_len(1),
        Err(DecodeError::LengthExceedsInput {
            offset: 4,
            len: 0x7fff_ffff,
            remaining: 2
        })
    );
    let mut r = CdrReader::new(&b).unwrap();
    assert!(matches!(
        r.read_string(),
        Err(DecodeError::LengthExceedsInput { .. })
    ));
}

#[test]
fn truncated_and_malformed_inputs_are_errors() {
    assert_eq!(
        CdrReader::new(&[0, 1]).unwrap_err(),
        DecodeError::MissingHeader(2)
    );
    assert_eq!(
        CdrReader::new(&[0, 3, 0, 0]).unwrap_err(),
        DecodeError::UnsupportedEncapsulation(0, 3)
    );
    let mut r = CdrReader::new(&[0, 1, 0, 0, 1, 2]).unwrap();
    assert_eq!(
        r.read::<u32>(),
        Err(DecodeError::Truncated {
            offset: 4,
            needed: 4,
            remaining: 2
        })
    );
    let mut r = CdrReader::new(&[0, 1, 0, 0, 2, 0, 0, 0, b'a', b'b']).unwrap();
    assert_eq!(r.read_string(), Err(DecodeError::MissingNul(4)));
    let mut r = CdrReader::new(&[0, 1, 0, 0, 2]).unwrap();
    assert_eq!(
        r.read_bool(),
        Err(DecodeError::InvalidBool {
            offset: 4,
            value: 2
        })
    );
}

#[test]
fn primitive_slices_round_trip_in_bulk() {
    let floats = [1.5f32, -2.25, 3.0];
    let mut w = CdrWriter::new();
    w.write(7u8);
    w.write_len(floats.len()).unwrap();
    w.write_slice(&floats);
    w.write_bytes(&[9, 8, 7]);
    let b = w.finish();
    let mut r = CdrReader::new(&b).unwrap();
    assert_eq!(r.read::<u8>().unwrap(), 7);
    let n = r.read_len(4).unwrap();
    assert_eq!(r.read_vec::<f32>(n).unwrap(), floats);
    assert_eq!(r.read_bytes(3).unwrap(), [9, 8, 7]);
}

#[test]
fn wide_strings_round_trip() {
    let mut w = CdrWriter::new();
    w.write_wstring("grüß 🚗").unwrap();
    let b = w.finish();
    let mut r = CdrReader::new(&b).unwrap();
    assert_eq!(r.read_wstring().unwrap(), "grüß 🚗");
}

#[test]
fn bound_check_reports_field() {
    assert_eq!(
        check_bound("Foo.bar", 4, 3),
        Err(EncodeError::BoundExceeded {
            field: "Foo.bar",
            len: 4,
            bound: 3
        })
    );
    assert_eq!(check_bound("Foo.bar", 3, 3), Ok(()));
}

#[test]
fn large_byte_sequences_are_shared_not_copied() {
    let big = bytes::Bytes::from(vec![7u8; 20_000]);
    let mut w = CdrWriter::new();
    w.write(1u8);
    w.write_len(big.len()).unwrap();
    w.write_shared(&big);
    w.write(2.5f64); // alignment must count the shared bytes
    let segments = w.clone().finish_segments();
    assert!(matches!(&segments[1], Segment::Shared(b) if b.as_ptr() == big.as_ptr()));
    let flat = w.finish();
    let joined: Vec<u8> = segments
        .iter()
        .flat_map(|s| match s {
            Segment::Owned(v) => v.clone(),
            Segment::Shared(b) => b.to_vec(),
        })
        .collect();
    assert_eq!(joined, flat);
    // Decoding from a shared buffer hands out a slice of it.
    let buf = bytes::Bytes::from(flat);
    let mut r = CdrReader::new_shared(&buf).unwrap();
    assert_eq!(r.read::<u8>().unwrap(), 1);
    let n = r.read_len(1).unwrap();
    let data = r.read_byte_buf(n).unwrap();
    assert_eq!(data, big);
    assert_eq!(
        data.as_ptr(),
        buf[12..].as_ptr(),
        "a view into the input, not a copy"
    );
    assert_eq!(r.read::<f64>().unwrap(), 2.5);
}

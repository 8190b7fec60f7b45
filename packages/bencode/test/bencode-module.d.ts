// The npm bencode package ships no types; the cross-check tests only call encode and decode.
declare module "bencode";

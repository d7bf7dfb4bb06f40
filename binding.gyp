{
  "targets": []
}

; probe-mbr.asm: the boot sector that `cargo xtask` boots through iPXE's `sanboot` to check a target.
;
; Assembled at run time with `nasm -f bin` (Debian package nasm). On a disk whose sector 1 begins with
; "GOLDEN-IMAGE" and whose sector 2 begins with "GOLDEN-DATA", it
;   1. finds the iBFT that iPXE left in base memory and takes the MAC address of its first NIC,
;   2. reads 8 sectors from LBA 1 through INT 13h extensions (iPXE turns them into iSCSI READs) and checks
;      the golden magic,
;   3. checks that LBA 2 still holds the golden data, or this client's own stamp from an earlier boot, and
;      never another client's stamp,
;   4. writes the stamp "CLIENT-WRT:" + the MAC as 12 hex digits (zero-padded to a sector) to LBA 2, reads it
;      back and compares,
;   5. prints "STAMP:<stamp>" and "IBFT:<hex of the whole iBFT>" over COM1,
; then exits QEMU through `-device isa-debug-exit,iobase=0xf4,iosize=0x04` with status (code << 1) | 1:
;   0x10 -> 33 every check passed          0x14 -> 41 the write failed
;   0x11 -> 35 a read failed               0x15 -> 43 the read-back differs from what was written
;   0x12 -> 37 no golden magic at LBA 1    0x16 -> 45 no iBFT in memory
;   0x13 -> 39 LBA 2 holds another client's data
; Progress goes to COM1 as "MBR-OK IBFT-OK READ-OK WRITE-OK"; a failure prints "PROBE-FAIL".
bits 16
org 0x7c00

%define STAMP_LEN 23
%define READ_BUF 0x8000            ; 8 sectors from LBA 1
%define BACK_BUF 0x9000            ; read-back of LBA 2
%define STAMP_BUF 0xa000           ; the sector written to LBA 2

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    cld
    mov [drive], dl
    mov si, msg_mbr
    call puts

    ; 1. the iBFT: signature "iBFT" on a 16-byte boundary in 0x80000-0x9ffff
    mov bx, 0x8000
.scan:
    mov es, bx
    cmp dword [es:0], 0x54464269
    je .found
    inc bx
    cmp bx, 0xa000
    jb .scan
    mov al, 0x16
    jmp fail
.found:
    mov [ibft_seg], bx
    mov si, msg_ibft_ok
    call puts
    mov bx, [es:48+10]             ; control structure: offset of NIC 0
    lea di, [stamp_mac]
    mov cx, 6
.mac:
    mov al, [es:bx+90]             ; NIC structure: MAC address at offset 90
    call hex_store
    inc bx
    loop .mac
    xor ax, ax
    mov es, ax

    ; the stamp sector: zeros, then the stamp
    mov di, STAMP_BUF
    mov cx, 512
    rep stosb
    mov si, stamp
    mov di, STAMP_BUF
    mov cx, STAMP_LEN
    rep movsb

    ; 2. read LBA 1..8, check the magic
    mov al, 0x11
    call disk_read
    mov si, READ_BUF
    mov di, magic
    mov cx, 12
    repe cmpsb
    mov al, 0x12
    jne fail
    ; 3. LBA 2: golden data or our own stamp
    mov si, READ_BUF + 512
    mov di, golden_data
    mov cx, 11
    repe cmpsb
    je .lba2_ok
    mov si, READ_BUF + 512
    mov di, stamp
    mov cx, STAMP_LEN
    repe cmpsb
    mov al, 0x13
    jne fail
.lba2_ok:
    mov si, msg_read
    call puts

    ; 4. write the stamp to LBA 2, read it back
    mov word [dap+2], 1
    mov word [dap+4], STAMP_BUF
    mov word [dap+8], 2
    mov si, dap
    mov ax, 0x4300
    mov dl, [drive]
    int 0x13
    mov al, 0x14
    jc fail
    mov word [dap+4], BACK_BUF
    mov al, 0x11
    call disk_read
    mov si, BACK_BUF
    mov di, STAMP_BUF
    mov cx, 512
    repe cmpsb
    mov al, 0x15
    jne fail
    mov si, msg_write
    call puts

    ; 5. the stamp and the iBFT
    mov si, stamp - 6              ; "STAMP:" directly precedes the stamp
    call puts
    mov si, msg_ibft
    call puts
    mov es, [ibft_seg]
    mov cx, [es:4]                 ; the table's length
    xor bx, bx
.hex:
    mov al, [es:bx]
    lea di, [hexbuf]
    call hex_store
    mov si, hexbuf
    call puts
    inc bx
    loop .hex
    mov si, msg_nl
    call puts
    mov al, 0x10
    jmp exit

; al = exit code on error; reads [dap] into its buffer
disk_read:
    push ax
    mov si, dap
    mov ah, 0x42
    mov dl, [drive]
    int 0x13
    pop ax
    jc fail
    ret

fail:
    push ax
    mov si, msg_fail
    call puts
    pop ax
exit:
    out 0xf4, al
.halt:
    cli
    hlt
    jmp .halt

; al -> two hex digits at es:di (es = 0 or ds), di += 2
hex_store:
    push ax
    shr al, 4
    call .nib
    pop ax
    and al, 0x0f
.nib:
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .o
    add al, 7
.o:
    mov [ds:di], al
    inc di
    ret

; prints the zero-terminated string at ds:si on COM1
puts:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov dx, 0x3f8
    mov al, ah
    out dx, al
    jmp puts
.done:
    ret

drive: db 0
ibft_seg: dw 0
hexbuf: db 0, 0, 0
align 4
dap: db 0x10, 0
    dw 8                            ; sectors
    dw READ_BUF, 0                  ; buffer offset, segment
    dq 1                            ; LBA
magic: db "GOLDEN-IMAGE"
golden_data: db "GOLDEN-DATA"
msg_mbr: db "MBR-OK ", 0
msg_ibft_ok: db "IBFT-OK ", 0
msg_read: db "READ-OK ", 0
msg_write: db "WRITE-OK", 13, 10, 0
msg_fail: db 13, 10, "PROBE-FAIL", 13, 10, 0
msg_ibft: db 13, 10, "IBFT:", 0
msg_nl: db 13, 10, 0
    db "STAMP:"
stamp: db "CLIENT-WRT:"
stamp_mac: db "000000000000", 0
times 510-($-$$) db 0
dw 0xaa55

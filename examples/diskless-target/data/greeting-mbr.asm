; The boot sector of `diskless-target demo`'s golden image: prints a greeting on the screen
; (BIOS INT 10h teletype) and on the first serial port (COM1, port 0x3f8), then halts.
;
; Assemble: nasm -f bin greeting-mbr.asm -o greeting-mbr.bin
; The binary embeds greeting-mbr.bin; a test re-assembles this file (when nasm is there) and
; compares.

bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    cld
    mov si, greeting
.next:
    lodsb
    test al, al
    jz .halt
    mov ah, 0x0e            ; teletype output
    mov bx, 0x0007          ; page 0, light grey
    int 0x10
    mov dx, 0x3fd           ; COM1 line status
    mov ah, al
.wait:
    in al, dx
    test al, 0x20           ; transmit holding register empty?
    jz .wait
    mov al, ah
    mov dx, 0x3f8
    out dx, al
    jmp .next
.halt:
    cli
    hlt
    jmp .halt

greeting:
    db 13, 10, "diskless-target demo: booted from the golden image over iSCSI.", 13, 10
    db "Reads come from the golden VHD; writes would land in this client's differencing VHD.", 13, 10, 0

    times 446-($-$$) db 0
    ; One partition entry, so that firmware that looks for a partition table finds one:
    ; bootable, type 0x83, LBA 2048.., 30720 sectors (the demo disk is 16 MiB).
    db 0x80, 0, 0, 0, 0x83, 0, 0, 0
    dd 2048, 30720
    times 510-($-$$) db 0
    dw 0xaa55

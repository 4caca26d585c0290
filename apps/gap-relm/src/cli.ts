console.log('gap-relm');

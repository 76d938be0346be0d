# language: pt
Funcionalidade: Saúde do número de WhatsApp conectado pelo Evolution
  Um número conectado como "WhatsApp Web" (Evolution, Baileys) às vezes parece conectado,
  mas para de receber mensagens. O Porfin confere cada número a cada minuto: se ele diz estar
  conectado e nada chega há mais de 30 minutos, o número fica "degradado", a equipe é avisada
  e o Porfin reinicia a sessão, com intervalos crescentes entre as tentativas (1, 2, 4...
  até 30 minutos). Um número que saiu do WhatsApp no celular espera alguém conectá-lo de novo.

  Contexto:
    Dado que a clínica tem um número Evolution conectado

  Cenário: Um número que recebe mensagens está saudável
    Quando passam 20 minutos
    E chega uma mensagem pelo número
    E passam 20 minutos
    E o Porfin confere o número
    Então o número não está degradado
    E o Porfin não reiniciou a sessão do número

  Cenário: Um número conectado que não recebe nada há mais de 30 minutos fica degradado
    Quando passam 31 minutos
    E o Porfin confere o número
    Então o número está degradado
    E a equipe é avisada de que o número está degradado
    E o Porfin reiniciou a sessão do número 1 vez

  Cenário: O número volta a receber e deixa de estar degradado
    Dado que o número está degradado
    Quando chega uma mensagem pelo número
    E passa 1 minuto
    E o Porfin confere o número
    Então o número não está degradado
    E a equipe é avisada de que o número voltou ao normal

  Cenário: As tentativas de reconexão ficam cada vez mais espaçadas
    Dado que a conexão do número caiu
    Quando o Porfin confere o número a cada minuto durante 8 minutos
    Então o Porfin reiniciou a sessão do número 4 vezes
    E a próxima tentativa é 8 minutos depois da última

  Cenário: Um número que saiu do WhatsApp espera alguém conectar de novo
    Dado que o celular desconectou o número do WhatsApp
    Quando passam 10 minutos
    E o Porfin confere o número
    Então o Porfin não reiniciou a sessão do número

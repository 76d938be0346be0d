# language: pt
Funcionalidade: Cadastro do paciente
  Quem escreve para a clínica vira um cadastro: nome, telefone, etapa do funil, etiquetas
  e as autorizações (LGPD) de cada finalidade. A recepção corrige e completa o cadastro;
  cada leitura e cada mudança ficam no registro de auditoria, e cada autorização guarda
  quando foi dada e quem a registrou.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que a secretária Ana trabalha na clínica
    E que são 10:00 de 25/11/2026
    E que a paciente Maria (+55 11 98765-4321) escreveu "Olá, quero marcar uma limpeza"

  Cenário: O cadastro começa com o que o WhatsApp informou
    Então o cadastro de Maria tem o nome "Maria"
    E Maria está na etapa "novo contato"
    E Maria autoriza ser atendida, porque escreveu para a clínica

  Cenário: A secretária atualiza o cadastro do paciente
    Quando a secretária Ana muda o nome de Maria para "Maria Aparecida Silva"
    E a secretária Ana marca Maria com as etiquetas "Limpeza, VIP, vip"
    E a secretária Ana move Maria para a etapa "agendado"
    Então o cadastro de Maria tem o nome "Maria Aparecida Silva"
    E o cadastro de Maria tem as etiquetas "limpeza, vip"
    E Maria está na etapa "agendado"
    E o último registro de auditoria diz que Ana alterou o cadastro de Maria
    E a conversa de Maria mostra o nome "Maria Aparecida Silva"

  Cenário: A paciente aceita lembretes e recusa propaganda
    Quando a secretária Ana registra que Maria aceita receber lembretes
    E a secretária Ana registra que Maria não aceita receber propaganda
    Então Maria aceita receber lembretes, segundo Ana, desde 25/11/2026 às 10:00
    E Maria não aceita receber propaganda, segundo Ana, desde 25/11/2026 às 10:00

  Cenário: Quem abre o cadastro fica registrado
    Quando a secretária Ana abre o cadastro de Maria
    Então o último registro de auditoria diz que Ana leu o cadastro de Maria

  Cenário: A recepção encontra a paciente pelo nome ou pelo telefone, como for digitado
    Dado que o paciente João (+55 21 99876-5432) escreveu "Oi, tudo bem?"
    Quando a secretária Ana muda o nome de João para "João da Conceição"
    Então a busca por "conceicao" encontra João
    E a busca por "jo conc" encontra João
    E a busca por "(11) 8765-4321" encontra Maria
    E a busca por "98765-4321" encontra Maria
    E a busca por "551187654321" encontra Maria
    E a busca por "Pedro" não encontra ninguém

  Cenário: Uma etiqueta longa demais é recusada e nada muda
    Quando a secretária Ana marca Maria com as etiquetas "limpeza, uma etiqueta com muito mais de quarenta letras"
    Então a mudança é recusada com o erro "validation_error"
    E o cadastro de Maria não tem etiquetas

  Cenário: Dois cadastros da mesma pessoa viram um só, com as conversas
    Dado que o gerente Carlos trabalha na clínica
    E que passaram 5 minutos
    E que a paciente Cida (+55 11 91234-5678) escreveu "Troquei de número, aqui é a Maria"
    Quando a secretária Ana marca Cida com as etiquetas "implante"
    E o gerente Carlos junta o cadastro de Cida ao de Maria
    Então o último registro de auditoria diz que Carlos juntou o cadastro de Cida ao de Maria
    E existe 1 conversa
    E a conversa de Maria tem 2 mensagens não lidas
    E a última mensagem da conversa de Maria é "Troquei de número, aqui é a Maria"
    E o cadastro de Maria tem as etiquetas "implante"
    E quem abre o cadastro de Cida é levado ao de Maria
    Quando a paciente Maria (+55 11 91234-5678) escreve "Chego às 10h"
    Então existe 1 conversa
    E a conversa de Maria tem 3 mensagens
